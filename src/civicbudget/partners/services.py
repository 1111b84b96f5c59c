"""Register and approve organisations, offer service winners for orders, take bids, choose one.

百姓点单、政府买单、社会组织接单: residents chose the project (the vote), the government pays
(the allocation), an organisation takes the order. Staff writes check role + place (+ stage
for orders) and are audited; an organisation acts through its desk as a ``Contractor``, which
the delivery services accept for its own contracted projects only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicbudget import ratelimit
from civicbudget.accounts.permissions import permission_require
from civicbudget.audit.services import audit_record, snapshot
from civicbudget.delivery import services as delivery
from civicbudget.delivery.models import STEP_ORDER, Implementation, Step
from civicbudget.errors import PermissionDenied, PreconditionFailed, ServiceError
from civicbudget.identity import IdentifierError, canonical_credit_code, canonical_phone
from civicbudget.partners.models import Bid, Offer, Organisation, Partnership
from civicbudget.places.models import Community, District, Street
from civicbudget.proposals.models import ProjectType

#: Bounds of every free-text input (characters).
LIMITS = {"name": 100, "services": 1000, "qualifications": 2000, "contact_name": 50, "reason": 2000,
          "plan": 4000, "schedule": 1000, "team": 1000, "conflict": 1000, "note": 300}
MAX_COMMUNITIES = 200
#: Steps an organisation reports itself; acceptance and "done" stay with the officers and
#: the residents' supervision group.
CONTRACTOR_STEPS = frozenset({Step.DELIVERY})


def _text(value, field: str, *, required: bool = True, label: str = "") -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if required and not text:
        raise ServiceError(_("Fill in %(label)s.") % {"label": label or field}, field=field)
    if len(text) > LIMITS[field]:
        raise ServiceError(_("%(label)s has more than %(max)d characters.")
                           % {"label": label or field, "max": LIMITS[field]}, field=field)
    return text


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# -- organisations -------------------------------------------------------------------------------


def organisation_register(*, district: District, street_id, name: str, credit_code: str, services: str,
                          community_ids, qualifications: str = "", contact_name: str,
                          contact_phone: str, client: str = "",
                          now: dt.datetime | None = None) -> Organisation:
    """Register an organisation (public form); it waits for an officer's approval."""
    now = now or timezone.now()
    name = _text(name, "name", label=_("the name"))
    try:
        code = canonical_credit_code(credit_code, field="credit_code")
        phone = canonical_phone(contact_phone, field="contact_phone")
    except IdentifierError as exc:
        raise ServiceError(str(exc), field=exc.field) from None
    services = _text(services, "services", label=_("the services offered"))
    qualifications = _text(qualifications, "qualifications", required=False, label=_("the qualifications"))
    contact_name = _text(contact_name, "contact_name", label=_("the contact person"))
    street = Street.objects.filter(pk=street_id if str(street_id or "").isdigit() else 0,
                                   district=district).first()
    if street is None:
        raise ServiceError(_("Choose the street office you register with."), field="street")
    ids = [int(i) for i in (community_ids or []) if str(i).isdigit()][:MAX_COMMUNITIES + 1]
    if len(ids) > MAX_COMMUNITIES:
        raise ServiceError(_("Choose at most %(n)d communities.") % {"n": MAX_COMMUNITIES}, field="communities")
    communities = list(Community.objects.filter(pk__in=ids, street__district=district))
    if not communities or len(communities) != len(set(ids)):
        raise ServiceError(_("Choose the communities you serve, in this district."), field="communities")
    if client:
        ratelimit.require(f"partner_register:{ratelimit.who('client', client)}", window=ratelimit.HOUR,
                          limit=ratelimit.limit_for("partner_register_per_client_per_hour"), now=now,
                          message=_("Too many registrations from this network in the last hour; "
                                    "try again later."))
    try:
        with transaction.atomic():
            org = Organisation.objects.create(
                district=district, street=street, name=name, credit_code=code, services=services,
                qualifications=qualifications, contact_name=contact_name, contact_phone=phone,
                registered_at=now)
            org.communities.set(communities)
            # The contact's phone stays out of the audit trail.
            audit_record(None, "organisation_register", org, place=street,
                         after={"name": name, "street": street.pk, "communities": sorted(ids)})
    except IntegrityError:
        raise ServiceError(_("An organisation with this unified social credit code is already registered."),
                           field="credit_code", code="duplicate") from None
    return org


def organisation_decide(*, actor, organisation: Organisation, approve: bool, reason: str,
                        now: dt.datetime | None = None) -> tuple[Organisation, str | None]:
    """Approve or reject a registration with a reason; an approval returns the desk's access key
    (shown once, only its hash is kept)."""
    permission_require(actor, "approve_partners", organisation.street, target=organisation)
    reason = _text(reason, "reason", label=_("the reason"))
    if organisation.status != Organisation.Status.PENDING:
        raise PreconditionFailed(_("This registration was decided already (%(status)s).")
                                 % {"status": organisation.get_status_display()}, field="organisation")
    now = now or timezone.now()
    before = snapshot(organisation, ["status", "decision_reason"])
    organisation.status = Organisation.Status.APPROVED if approve else Organisation.Status.REJECTED
    organisation.decision_reason = reason[:500]
    organisation.decided_at, organisation.decided_by = now, actor
    key = None
    with transaction.atomic():
        if approve:
            key = _issue_key(organisation, now)
        organisation.save()
        audit_record(actor, "organisation_approve" if approve else "organisation_reject", organisation,
                     before=before, after=snapshot(organisation, ["status", "decision_reason"]),
                     place=organisation.street, message=reason[:1000])
    return organisation, key


def _issue_key(organisation: Organisation, now: dt.datetime) -> str:
    key = secrets.token_urlsafe(24)
    organisation.key_hash = _key_hash(key)
    organisation.key_issued_at = now
    return key


def organisation_key_issue(*, actor, organisation: Organisation, now: dt.datetime | None = None) -> str:
    """Issue a new desk access key (the old one and its sessions stop working)."""
    permission_require(actor, "approve_partners", organisation.street, target=organisation)
    if not organisation.is_approved:
        raise PreconditionFailed(_("Only an approved organisation gets an access key."), field="organisation")
    key = _issue_key(organisation, now or timezone.now())
    organisation.save(update_fields=["key_hash", "key_issued_at"])
    audit_record(actor, "organisation_key_issue", organisation, place=organisation.street)
    return key


def organisation_by_key(key: str) -> Organisation | None:
    """Return the approved organisation whose access key this is, or None."""
    key = (key or "").strip()
    if not key or len(key) > 100:
        return None
    return Organisation.objects.filter(key_hash=_key_hash(key), status=Organisation.Status.APPROVED).first()


def partnership_add(*, actor, organisation: Organisation, community: Community, since_on: dt.date | None,
                    note: str = "") -> Partnership:
    """Record an approved organisation as a community's long-term partner."""
    permission_require(actor, "approve_partners", community, target=organisation)
    if not organisation.is_approved:
        raise PreconditionFailed(_("Only an approved organisation can be a community's partner."),
                                 field="organisation")
    if community.street.district_id != organisation.district_id:
        raise ServiceError(_("The community is not in the organisation's district."), field="community")
    if since_on is None:
        raise ServiceError(_("Give the date the partnership started."), field="since_on")
    note = _text(note, "note", required=False)
    row, created = Partnership.objects.get_or_create(community=community, organisation=organisation,
                                                     defaults={"since_on": since_on, "note": note})
    if not created:
        raise ServiceError(_("%(org)s is already a partner of %(community)s.")
                           % {"org": organisation.name, "community": community.name}, field="community")
    audit_record(actor, "partnership_add", organisation, after=snapshot(row), place=community)
    return row


# -- orders (接单) --------------------------------------------------------------------------------


def offer_open(*, actor, implementation: Implementation, bids_close_on: dt.date | None,
               now: dt.datetime | None = None) -> Offer:
    """Offer a selected service project for orders, bids taken until ``bids_close_on``."""
    project = implementation.project
    permission_require(actor, "implement", project.place, implementation.cycle, target=implementation)
    now = now or timezone.now()
    if not implementation.cycle.config.get("partner_delivery"):
        raise PreconditionFailed(_("This cycle does not deliver through social organisations (三单 is off "
                                   "in its rules)."), field="implementation")
    if project.project_type != ProjectType.SERVICES:
        raise PreconditionFailed(_("Only service projects are offered for orders."), field="implementation")
    if STEP_ORDER.index(implementation.step) > STEP_ORDER.index(Step.BUDGET_REVIEW):
        raise PreconditionFailed(_("The project is past its tender already."), field="implementation")
    if bids_close_on is None or bids_close_on < timezone.localtime(now).date():
        raise ServiceError(_("Give the last day for bids, today or later."), field="bids_close_on")
    try:
        with transaction.atomic():
            offer = Offer.objects.create(implementation=implementation, opened_at=now, opened_by=actor,
                                         bids_close_on=bids_close_on)
            audit_record(actor, "offer_open", implementation, after=snapshot(offer), place=project.place)
    except IntegrityError:
        raise ServiceError(_("This project is offered for orders already."), field="implementation",
                           code="duplicate") from None
    return offer


def _date(value, field: str, label: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or "").strip()[:10])
    except ValueError:
        raise ServiceError(_("Give %(label)s as a date (YYYY-MM-DD).") % {"label": label}, field=field) from None


def serves(organisation: Organisation, implementation: Implementation) -> bool:
    """An organisation may bid where it serves: the project's community, or one of its street's."""
    project = implementation.project
    served = organisation.communities.all()
    if project.community_id:
        return served.filter(pk=project.community_id).exists()
    return served.filter(street_id=project.street_id).exists()


def bid_submit(*, organisation: Organisation, offer: Offer, plan: str, price_yuan, starts_on, ends_on,
               schedule: str, team: str, has_conflict: bool, conflict: str = "",
               now: dt.datetime | None = None) -> Bid:
    """Submit (or, while bids are open, change) an organisation's bid on an offer."""
    now = now or timezone.now()
    contractor = Contractor(organisation)
    impl = offer.implementation
    if not organisation.is_approved:
        raise PermissionDenied(_("Only approved organisations can bid."), field="organisation")
    if impl.cycle.district_id != organisation.district_id or not serves(organisation, impl):
        audit_record(contractor, "bid_submit", impl, outcome="denied", place=impl.project.place,
                     message="not served")
        raise PermissionDenied(_("Your organisation does not serve the community of this project."),
                               field="offer")
    plan = _text(plan, "plan", label=_("the plan"))
    schedule = _text(schedule, "schedule", label=_("the schedule"))
    team = _text(team, "team", label=_("the team"))
    conflict = _text(conflict, "conflict", required=False, label=_("the conflict of interest"))
    if has_conflict and not conflict:
        raise ServiceError(_("Describe the conflict of interest you declare."), field="conflict")
    if not has_conflict:
        conflict = ""
    price = delivery._yuan(price_yuan, "price_yuan")
    starts, ends = _date(starts_on, "starts_on", _("the start")), _date(ends_on, "ends_on", _("the end"))
    if ends < starts:
        raise ServiceError(_("The service ends before it starts."), field="ends_on")
    with transaction.atomic():
        locked = Offer.objects.select_for_update().select_related("implementation").get(pk=offer.pk)
        if not locked.is_open or timezone.localtime(now).date() > locked.bids_close_on:
            raise PreconditionFailed(_("Bids on this project are closed."), field="offer", code="bids_closed")
        allocation = locked.implementation.allocation_yuan
        if price > allocation:
            raise ServiceError(_("The price of %(price)s yuan is above the project's allocation of "
                                 "%(allocation)s yuan.") % {"price": f"{price:,}", "allocation": f"{allocation:,}"},
                               field="price_yuan", code="above_allocation")
        bid, _created = Bid.objects.update_or_create(
            offer=locked, organisation=organisation,
            defaults={"plan": plan, "price_yuan": price, "starts_on": starts, "ends_on": ends,
                      "schedule": schedule, "team": team, "has_conflict": bool(has_conflict),
                      "conflict": conflict, "submitted_at": now})
        audit_record(contractor, "bid_submit", impl, after={"bid": bid.pk, "price_yuan": price,
                                                            "has_conflict": bool(has_conflict)},
                     place=impl.project.place)
    return bid


def offer_choose(*, actor, offer: Offer, bid_id, reason: str, now: dt.datetime | None = None) -> Offer:
    """Choose one bid with a published reason: its organisation implements the project, the
    offer closes to bids, and the implementation moves on to its contract."""
    impl = offer.implementation
    permission_require(actor, "implement", impl.project.place, impl.cycle, target=impl)
    reason = _text(reason, "reason", label=_("the reason for the choice"))
    now = now or timezone.now()
    with transaction.atomic():
        locked = Offer.objects.select_for_update().get(pk=offer.pk)
        if not locked.is_open:
            raise PreconditionFailed(_("A bid was chosen already."), field="offer", code="bids_closed")
        bid = locked.bids.select_related("organisation").filter(
            pk=bid_id if str(bid_id or "").isdigit() else 0).first()
        if bid is None:
            raise ServiceError(_("Choose one of the bids on this project."), field="bid")
        locked.status, locked.chosen_bid, locked.reason = Offer.Status.AWARDED, bid, reason
        locked.chosen_at, locked.chosen_by = now, actor
        locked.save()
        audit_record(actor, "offer_choose", impl, place=impl.project.place, message=reason[:1000],
                     after={"bid": bid.pk, "organisation": bid.organisation_id, "price_yuan": bid.price_yuan,
                            "has_conflict": bid.has_conflict})
        impl = Implementation.objects.select_related("project__street", "project__community", "cycle").get(
            pk=impl.pk)
        notes = {Step.BUDGET_REVIEW: _("Price %(price)s yuan within the allocation") % {"price": f"{bid.price_yuan:,}"},
                 Step.TENDER: _("Offered for orders: %(n)d bids") % {"n": locked.bids.count()},
                 Step.CONTRACT: _("Order taken by %(org)s: %(reason)s") % {"org": bid.organisation.name,
                                                                          "reason": reason}}
        while STEP_ORDER.index(impl.step) < STEP_ORDER.index(Step.CONTRACT):
            step = STEP_ORDER[STEP_ORDER.index(impl.step) + 1]
            impl = delivery.implementation_advance(actor=actor, implementation=impl, step=step,
                                                   note=str(notes[step])[:500], contract_ends_on=bid.ends_on,
                                                   now=now)
    offer.refresh_from_db()
    return offer


# -- the organisation reporting on its contracts ------------------------------------------------


@dataclass(frozen=True)
class Contractor:
    """An organisation acting through its desk: what the delivery services accept as an actor
    for the projects whose order it took, and nothing else."""

    organisation: Organisation
    is_contractor = True
    is_authenticated = False
    steps = CONTRACTOR_STEPS

    @property
    def audit_label(self) -> str:
        return f"organisation:{self.organisation.pk}"

    def refusal(self, implementation: Implementation) -> str | None:
        """Return why the organisation may not report on ``implementation``, or None."""
        if not Organisation.objects.filter(pk=self.organisation.pk, status=Organisation.Status.APPROVED).exists():
            return _("Your organisation is not approved.")
        if not Offer.objects.filter(implementation=implementation, status=Offer.Status.AWARDED,
                                    chosen_bid__organisation=self.organisation).exists():
            return _("Your organisation did not take the order of this project.")
        return None


def contracts_of(organisation: Organisation):
    return (Implementation.objects.filter(offer__status=Offer.Status.AWARDED,
                                          offer__chosen_bid__organisation=organisation)
            .select_related("project__street", "project__community", "cycle__district", "offer__chosen_bid"))
