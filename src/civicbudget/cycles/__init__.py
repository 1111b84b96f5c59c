"""Cycles: a district's yearly PB cycle, its budget pools and its stages as rows."""
