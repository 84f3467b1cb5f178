"""Coordinators: the group coordinator — :mod:`.router` (the cluster's), :mod:`.runtime` (one per
broker), :mod:`.group_state_machine` and :mod:`.membership` (one per ``__consumer_offsets``
partition), their records (:mod:`.offsets_topic`) — and the partition assignors."""
