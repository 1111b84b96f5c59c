"""civicbudget: a participatory budgeting platform (微实事) for districts, streets and communities."""

__version__ = "0.1.0"
