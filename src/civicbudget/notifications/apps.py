"""App config of notifications: registers the stage hooks that notify subscribers."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "civicbudget.notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        # After the voting, results and delivery apps' own hooks (INSTALLED_APPS order): the
        # ballots, winners and implementations exist when these run.
        from civicbudget.notifications import hooks  # noqa: F401
