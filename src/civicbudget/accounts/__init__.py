"""Staff accounts and their roles, each scoped to a place."""
