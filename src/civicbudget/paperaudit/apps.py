"""App config of the paper-count audit."""

from django.apps import AppConfig


class PaperAuditConfig(AppConfig):
    name = "civicbudget.paperaudit"
    label = "paperaudit"
    verbose_name = "paper-count audit"
    default_auto_field = "django.db.models.BigAutoField"
