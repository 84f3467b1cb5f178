"""Coordinators: the group coordinator (consumer groups, committed offsets) and assignors."""
