from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VotingConfig(AppConfig):
    name = "civicbudget.voting"
    verbose_name = _("Voting")

    def ready(self) -> None:
        from django.core.signals import request_finished, request_started

        from civicbudget.cycles.services import register_transition_hook
        from civicbudget.voting import (
            checks,  # noqa: F401 - registers the SMS setting check
            logstore,
        )
        from civicbudget.voting.ballots import count_at_close, open_scopes

        # A due ballot batch is written after the response that made it due has gone out.
        request_started.connect(logstore._request_started, dispatch_uid="ballot-batch-start")
        request_finished.connect(logstore._request_finished, dispatch_uid="ballot-batch-finish")
        register_transition_hook("enter", "vote", open_scopes)
        register_transition_hook("leave", "vote", count_at_close)
