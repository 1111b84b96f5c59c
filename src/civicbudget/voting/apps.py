from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VotingConfig(AppConfig):
    name = "civicbudget.voting"
    verbose_name = _("Voting")

    def ready(self) -> None:
        from civicbudget.cycles.services import register_transition_hook
        from civicbudget.voting import checks  # noqa: F401 - registers the SMS setting check
        from civicbudget.voting.ballots import count_at_close, open_scopes

        register_transition_hook("enter", "vote", open_scopes)
        register_transition_hook("leave", "vote", count_at_close)
