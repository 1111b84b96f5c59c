"""The results app: publication (公示), objections, final states and replies (集中回复)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResultsConfig(AppConfig):
    name = "civicbudget.results"
    label = "results"
    verbose_name = _("Publication and replies")

    def ready(self) -> None:
        # Opens the notice period when a "publish" stage starts, decides the final states
        # and queues the replies when a "reply" stage starts.
        from civicbudget.results import hooks  # noqa: F401
