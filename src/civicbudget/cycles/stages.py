"""What each stage kind allows: the one table every service checks.

A cycle's stages are rows (kind, order, window); which actions are open follows from the
kind of the stage that is running. Models of the source document differ only in which
kinds their templates list and in what order.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

#: Actions that depend on the running stage.
STAGE_ACTIONS = (
    "configure",
    "submit",
    "merge",
    "screen",
    "review",
    "deliberate",
    "vote",
    "publish",
    "reply",
    "implement",
    "evaluate",
)

#: kind -> actions open while a stage of that kind runs.
KIND_ACTIONS: dict[str, frozenset[str]] = {
    "launch": frozenset({"configure"}),
    "collect": frozenset({"submit"}),
    "screen": frozenset({"merge", "screen", "review", "deliberate"}),
    "deliberate": frozenset({"merge", "screen", "deliberate"}),
    "review": frozenset({"screen", "review", "deliberate"}),
    "menu": frozenset({"screen", "review"}),
    "decide": frozenset({"deliberate"}),
    "vote": frozenset({"vote"}),
    "publish": frozenset({"publish"}),
    "reply": frozenset({"reply"}),
    "implement": frozenset({"implement"}),
    "evaluate": frozenset({"evaluate"}),
}

#: Actions open before the first stage starts (a draft cycle) and after the last ends.
DRAFT_ACTIONS = frozenset({"configure"})
FINISHED_ACTIONS: frozenset[str] = frozenset()

KIND_LABELS = {
    "launch": _("Launch"),
    "collect": _("Collect proposals"),
    "screen": _("Screen and merge"),
    "deliberate": _("Community deliberation"),
    "review": _("Street review"),
    "menu": _("Government menu"),
    "decide": _("Body decides"),
    "vote": _("Residents vote"),
    "publish": _("Publish"),
    "reply": _("Reply to proposers"),
    "implement": _("Implement"),
    "evaluate": _("Evaluate"),
}

ACTION_LABELS = {
    "configure": _("configure the cycle"),
    "submit": _("submit proposals"),
    "merge": _("merge proposals"),
    "screen": _("screen projects"),
    "review": _("review projects"),
    "deliberate": _("deliberate and shortlist"),
    "vote": _("vote"),
    "publish": _("publish results"),
    "reply": _("reply to proposers"),
    "implement": _("implement projects"),
    "evaluate": _("evaluate projects"),
}

KIND_CHOICES = [(kind, KIND_LABELS[kind]) for kind in KIND_ACTIONS]
