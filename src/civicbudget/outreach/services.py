"""Writes of outreach: an outreach point is created by an officer who may publicise there."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from civicbudget.accounts.permissions import permission_require
from civicbudget.audit.services import audit_record, snapshot
from civicbudget.cycles.models import Cycle
from civicbudget.errors import ServiceError
from civicbudget.outreach.models import OutreachChannel, OutreachPoint
from civicbudget.outreach.sources import CODE_RE, PROJECT_CODE_RE
from civicbudget.places.models import Street

#: A point's cost: integer yuan, at most ten million (a district's whole campaign is far less).
MAX_COST_YUAN = 10_000_000


def _cost(value) -> int:
    text = str(value if value is not None else "").strip()
    if not text:
        return 0
    if not text.isascii() or not text.isdigit() or len(text) > 8:
        raise ServiceError(_("Give the cost in whole yuan (0 to 10,000,000)."), field="cost_yuan")
    cost = int(text)
    if cost > MAX_COST_YUAN:
        raise ServiceError(_("Give the cost in whole yuan (0 to 10,000,000)."), field="cost_yuan")
    return cost


def outreach_point_create(*, actor, cycle: Cycle, code: str, channel: str, place: str = "",
                          street: Street | None = None, cost_yuan=0) -> OutreachPoint:
    """Record an outreach point of ``cycle``; its code goes on every QR code and link made for it.

    District admins create points anywhere in the district, street officers in their street.
    """
    permission_require(actor, "publicise", street if street is not None else cycle.district, cycle)
    if street is not None and not cycle.streets.filter(pk=street.pk).exists():
        raise ServiceError(_("%(street)s does not take part in this cycle.") % {"street": street.name},
                           field="street")
    code = (code or "").strip().lower()
    # "p123" names a project's short link and "c12-..." the kit's own points.
    if not CODE_RE.match(code) or PROJECT_CODE_RE.match(code) or re.match(r"^c[0-9]+-", code):
        raise ServiceError(_("The code is 2 to 40 lower-case letters, digits and hyphens, "
                             "e.g. poster-haida-market."), field="code")
    if channel not in OutreachChannel.values:
        raise ServiceError(_("Choose the channel."), field="channel")
    place = (place or "").strip()
    if len(place) > 100:
        raise ServiceError(_("The place has more than 100 characters."), field="place")
    cost = _cost(cost_yuan)
    try:
        with transaction.atomic():
            point = OutreachPoint.objects.create(cycle=cycle, code=code, channel=channel, place=place,
                                                 street=street, cost_yuan=cost, created_by=actor)
    except IntegrityError:
        raise ServiceError(_("The code %(code)s is taken: choose another.") % {"code": code},
                           field="code") from None
    audit_record(actor, "outreach_point_create", cycle,
                 after=snapshot(point, ["code", "channel", "place", "street", "cost_yuan"]),
                 place=street if street is not None else cycle.district)
    return point
