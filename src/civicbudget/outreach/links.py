"""Where a kit's QR codes and short links lead: the public page of what residents can do now."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse

from civicbudget.cycles.models import Cycle

#: stage kind -> the public page that lets residents take part in it.
STAGE_PAGES = {
    "collect": "proposals:propose",
    "screen": "proposals:projects",
    "deliberate": "proposals:projects",
    "review": "proposals:projects",
    "menu": "proposals:projects",
    "decide": "proposals:projects",
    "vote": "voting:start",
    "publish": "voting:results",
    "reply": "voting:results",
    "implement": "delivery:cycle",
    "evaluate": "delivery:cycle",
}


def stage_kind(cycle: Cycle) -> str:
    """The running stage's kind, "draft" before the first, "finished" after the last."""
    stage = cycle.current_stage
    return stage.kind if stage is not None else cycle.status


def target_path(cycle: Cycle) -> str:
    """The path of the public page for the cycle's running stage (the cycle page otherwise)."""
    name = STAGE_PAGES.get(stage_kind(cycle))
    return reverse(name or "web:cycle", kwargs={"cycle_id": cycle.pk})


def with_source(path: str, code: str) -> str:
    return f"{path}?{urlencode({'src': code})}"


def tracked_url(base_url: str, cycle: Cycle, code: str) -> str:
    """The absolute URL a point's QR code carries: the stage's page with ``?src=CODE``."""
    return base_url.rstrip("/") + with_source(target_path(cycle), code)


def short_url(base_url: str, code: str) -> str:
    """The short link printed beside a QR code and sent by SMS: ``/s/CODE``."""
    return base_url.rstrip("/") + reverse("outreach:short", kwargs={"code": code})
