"""Views over engine snapshots: DataFrames, static HTML, and live widgets (need ipywidgets)."""
