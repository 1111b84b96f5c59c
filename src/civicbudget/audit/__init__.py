"""Audit trail: every staff state change (who, what, when, before/after) and every refusal."""
