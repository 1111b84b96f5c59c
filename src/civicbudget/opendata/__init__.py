"""Open data: CSV, JSON and pabulib downloads of every public table, and the statistics dashboard."""
