"""The cycle's theme-division option (``config["theme_division"]``), set by its configurer.

``{"themes": [2 to 20 theme names], "rule": "independent-markets" | "mean"}``: when set,
voting opens a division ballot on which every voter splits 100% across the themes, and each
theme's share caps its projects on every ballot (civicbudget.voting.division). Frozen once
voting has opened: the ballot voters saw must be the one counted.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from civicbudget.accounts.permissions import permission_require
from civicbudget.audit.services import audit_record
from civicbudget.cycles.models import Cycle
from civicbudget.errors import PreconditionFailed, ServiceError
from civicbudget.tally.constraints import category_key
from civicbudget.tally.portioning import RULES

MAX_THEMES = 20
MAX_NAME = 40
FORBIDDEN = set(",;=\r\n\t")  # theme names become categories (comma-separated) and NAME=SHARE lines


def theme_division(cycle: Cycle) -> dict | None:
    """Return the cycle's division option, or None."""
    return (cycle.config or {}).get("theme_division") or None


def _voting_opened(cycle: Cycle) -> bool:
    return (cycle.voting_scopes.exists()
            or cycle.stages.filter(kind="vote", started_at__isnull=False).exists())


def clean_theme_division(themes: Iterable[str], rule: str) -> dict | None:
    """Return the option from ``themes`` and ``rule``; None for no themes (no division).
    Raise a ServiceError naming the field when malformed."""
    names = [" ".join(str(t or "").split()) for t in themes]
    names = [n for n in names if n]
    if not names:
        return None
    if len(names) < 2 or len(names) > MAX_THEMES:
        raise ServiceError(_("Give from 2 to %(n)d themes, one per line.") % {"n": MAX_THEMES},
                           field="themes", code="theme_division")
    for n in names:
        if len(n) > MAX_NAME or FORBIDDEN & set(n):
            raise ServiceError(_("“%(name)s”: a theme name has at most %(n)d characters and no comma, "
                                 "semicolon or equals sign.") % {"name": n[:60], "n": MAX_NAME},
                               field="themes", code="theme_division")
    if len({category_key(n) for n in names}) != len(names):
        raise ServiceError(_("Two themes have the same name."), field="themes", code="theme_division")
    if rule not in RULES:
        raise ServiceError(_("Unknown division rule."), field="rule", code="theme_division")
    return {"themes": names, "rule": rule}


def theme_division_set(*, actor, cycle: Cycle, themes: Iterable[str],
                       rule: str = "independent-markets") -> dict | None:
    """Set (or clear, with no themes) the cycle's theme division; audited, refused once
    voting has opened."""
    permission_require(actor, "configure", cycle.district, cycle)
    value = clean_theme_division(list(themes)[:100], str(rule or ""))
    with transaction.atomic():
        cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
        if _voting_opened(cycle):
            raise PreconditionFailed(_("Voting has opened: the theme division is frozen."),
                                     code="theme_division_frozen")
        before = {"theme_division": theme_division(cycle)}
        if value is None:
            cycle.config.pop("theme_division", None)
        else:
            cycle.config["theme_division"] = value
        cycle.save(update_fields=["config"])
        audit_record(actor, "theme_division_set", cycle, before=before,
                     after={"theme_division": value}, place=cycle.district)
    return value
