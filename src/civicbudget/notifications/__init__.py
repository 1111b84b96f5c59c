"""Notifications: opt-in SMS to residents about the projects that concern them."""
