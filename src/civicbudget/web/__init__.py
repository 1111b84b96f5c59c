"""Public pages and the staff back-office (server-rendered, translatable)."""
