"""The deliberation app: everything between the merge workbench and the vote."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliberationConfig(AppConfig):
    name = "civicbudget.deliberation"
    verbose_name = _("Screening, review and deliberation")

    def ready(self) -> None:
        # Registers the stage preconditions (frozen ballots before a vote, notice periods over).
        from civicbudget.deliberation import preconditions  # noqa: F401
