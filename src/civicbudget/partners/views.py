"""Pages of social organisations: register, public track record, the organisation's desk
(signed in with its access key), and the staff pages (approvals, orders). Parse, call one
service or selector, render."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicbudget.accounts.permissions import (
    cycle_staff_require,
    district_staff_require,
    permission_check,
    staff_member_require,
)
from civicbudget.clientaddr import client_address
from civicbudget.cycles.models import Cycle
from civicbudget.delivery import services as delivery
from civicbudget.delivery.models import Implementation, Step
from civicbudget.errors import PermissionDenied, ServiceError
from civicbudget.params import is_number
from civicbudget.partners import selectors, services
from civicbudget.partners.models import Offer, Organisation
from civicbudget.places.models import Community, District

SESSION_ORG = "partner_org"
SESSION_ISSUED = "partner_key_issued_at"


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        return None


# -- public ---------------------------------------------------------------------------------------


def register(request: HttpRequest, district_id: int) -> HttpResponse:
    district = get_object_or_404(District, pk=district_id)
    error = None
    if request.method == "POST":
        p = request.POST
        try:
            services.organisation_register(
                district=district, street_id=p.get("street", ""), name=p.get("name", ""),
                credit_code=p.get("credit_code", ""), services=p.get("services", ""),
                community_ids=p.getlist("communities"), qualifications=p.get("qualifications", ""),
                contact_name=p.get("contact_name", ""), contact_phone=p.get("contact_phone", ""),
                client=client_address(request))
            return render(request, "partners/registered.html", {"district": district})
        except ServiceError as exc:
            error = exc
    streets = district.streets.prefetch_related("communities").order_by("name")
    chosen = {int(c) for c in request.POST.getlist("communities") if is_number(c)} if error else set()
    return render(request, "partners/register.html", {
        "district": district, "streets": streets, "error": error, "form": request.POST if error else {},
        "chosen": chosen}, status=400 if error else 200)


def organisation_list(request: HttpRequest, district_id: int) -> HttpResponse:
    district = get_object_or_404(District, pk=district_id)
    return render(request, "partners/list.html", {
        "district": district, "organisations": selectors.organisations_public(district.pk)})


def organisation_page(request: HttpRequest, organisation_id: int) -> HttpResponse:
    org = get_object_or_404(Organisation.objects.select_related("district", "street"), pk=organisation_id,
                            status=Organisation.Status.APPROVED)
    return render(request, "partners/organisation.html", {"org": org, "r": selectors.track_record(org)})


# -- the organisation's desk ----------------------------------------------------------------------


def _desk_organisation(request: HttpRequest) -> Organisation | None:
    org_id = request.session.get(SESSION_ORG)
    if not org_id:
        return None
    org = Organisation.objects.filter(pk=org_id, status=Organisation.Status.APPROVED).select_related(
        "district").first()
    if org is None or request.session.get(SESSION_ISSUED) != (org.key_issued_at.isoformat()
                                                               if org.key_issued_at else None):
        # A newly issued key ends the sessions of the old one.
        request.session.pop(SESSION_ORG, None)
        return None
    return org


def desk(request: HttpRequest) -> HttpResponse:
    org = _desk_organisation(request)
    if request.method == "POST" and request.POST.get("action") == "enter":
        from civicbudget import ratelimit

        try:
            ratelimit.require(f"partner_key:{ratelimit.who('client', client_address(request))}",
                              window=ratelimit.HOUR, limit=ratelimit.limit_for("partner_register_per_client_per_hour") * 3,
                              message=_("Too many attempts from this network in the last hour; try again later."))
        except ServiceError as exc:
            return render(request, "partners/desk_enter.html", {"error": exc}, status=429)
        found = services.organisation_by_key(request.POST.get("key", ""))
        if found is None:
            return render(request, "partners/desk_enter.html", {
                "error": ServiceError(_("This access key is not valid."), field="key")}, status=400)
        request.session.cycle_key()
        request.session[SESSION_ORG] = found.pk
        request.session[SESSION_ISSUED] = found.key_issued_at.isoformat() if found.key_issued_at else None
        return redirect("partners:desk")
    if org is None:
        return render(request, "partners/desk_enter.html", {})
    return render(request, "partners/desk.html", {"org": org, "d": selectors.desk(org),
                                                  "today": dt.date.today()})


@require_POST
def desk_action(request: HttpRequest) -> HttpResponse:
    org = _desk_organisation(request)
    p = request.POST
    if p.get("action") == "leave":
        request.session.pop(SESSION_ORG, None)
        request.session.pop(SESSION_ISSUED, None)
        return redirect("partners:desk")
    if org is None:
        return redirect("partners:desk")
    contractor = services.Contractor(org)
    try:
        if p.get("action") == "bid":
            offer = get_object_or_404(Offer.objects.select_related("implementation__project", "implementation__cycle"),
                                      pk=p.get("offer") if is_number(p.get("offer")) else 0)
            services.bid_submit(organisation=org, offer=offer, plan=p.get("plan", ""),
                                price_yuan=p.get("price_yuan"), starts_on=p.get("starts_on"),
                                ends_on=p.get("ends_on"), schedule=p.get("schedule", ""), team=p.get("team", ""),
                                has_conflict=p.get("has_conflict") == "1", conflict=p.get("conflict", ""))
            messages.success(request, _("Your bid is recorded."))
            return redirect("partners:desk")
        impl = get_object_or_404(Implementation.objects.select_related("project__street", "project__community",
                                                                       "cycle__district"),
                                 pk=p.get("implementation") if is_number(p.get("implementation")) else 0)
        if p.get("action") == "progress":
            delivery.progress_add(actor=contractor, implementation=impl, text=p.get("text", ""),
                                  percent=p.get("percent"), photo=request.FILES.get("photo"))
        elif p.get("action") == "spend":
            delivery.spending_record(actor=contractor, implementation=impl, amount_yuan=p.get("amount_yuan"),
                                     payee=p.get("payee", ""), description=p.get("description", ""),
                                     spent_on=_date(p.get("spent_on")))
        elif p.get("action") == "delivered":
            delivery.implementation_advance(actor=contractor, implementation=impl, step=Step.DELIVERY,
                                            note=p.get("note", ""))
        else:
            raise Http404
        messages.success(request, _("Saved."))
    except PermissionDenied:
        raise
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("partners:desk")


# -- staff ----------------------------------------------------------------------------------------


@login_required
def staff_organisations(request: HttpRequest, district_id: int) -> HttpResponse:
    staff_member_require(request.user, request.path)
    district = get_object_or_404(District, pk=district_id)
    district_staff_require(request.user, district.pk, district, request.path)
    issued = None
    if request.method == "POST":
        p = request.POST
        org = get_object_or_404(Organisation.objects.select_related("street"), district=district,
                                pk=p.get("organisation") if is_number(p.get("organisation")) else 0)
        try:
            action = p.get("action")
            if action in {"approve", "reject"}:
                org, key = services.organisation_decide(actor=request.user, organisation=org,
                                                        approve=action == "approve", reason=p.get("reason", ""))
                issued = (org, key) if key else None
            elif action == "key":
                issued = (org, services.organisation_key_issue(actor=request.user, organisation=org))
            elif action == "partner":
                community = get_object_or_404(Community.objects.select_related("street"),
                                              pk=p.get("community") if is_number(p.get("community")) else 0)
                services.partnership_add(actor=request.user, organisation=org, community=community,
                                         since_on=_date(p.get("since_on")), note=p.get("note", ""))
            else:
                raise Http404
            if issued is None:
                messages.success(request, _("Saved."))
                return redirect("partners:staff", district.pk)
        except PermissionDenied:
            raise
        except ServiceError as exc:
            messages.error(request, exc.message)
            return redirect("partners:staff", district.pk)
    # The access key appears in this one answer only (never in a message, a session or a log).
    organisations = selectors.organisations_of_district(district.pk)
    # Each role sees the buttons of what it may do: a street officer decides for its street.
    decidable = {o.pk for o in organisations
                 if permission_check(request.user, "approve_partners", o.street, any_stage=True)}
    communities = [c for c in Community.objects.filter(street__district=district).select_related("street")
                   .order_by("street__name", "name")
                   if permission_check(request.user, "approve_partners", c, any_stage=True)]
    return render(request, "partners/staff.html", {
        "district": district, "organisations": organisations, "issued": issued, "decidable": decidable,
        "communities": communities})


@login_required
def staff_orders(request: HttpRequest, cycle_id: int) -> HttpResponse:
    staff_member_require(request.user, request.path)
    cycle = get_object_or_404(Cycle.objects.select_related("district").prefetch_related("stages"), pk=cycle_id)
    cycle_staff_require(request.user, cycle, request.path)
    if request.method == "POST":
        p = request.POST
        try:
            if p.get("action") == "offer":
                impl = get_object_or_404(Implementation.objects.select_related(
                    "project__street", "project__community", "cycle__district"), cycle=cycle,
                    pk=p.get("implementation") if is_number(p.get("implementation")) else 0)
                services.offer_open(actor=request.user, implementation=impl,
                                    bids_close_on=_date(p.get("bids_close_on")))
            elif p.get("action") == "choose":
                offer = get_object_or_404(Offer.objects.select_related(
                    "implementation__project__street", "implementation__project__community",
                    "implementation__cycle__district"), implementation__cycle=cycle,
                    pk=p.get("offer") if is_number(p.get("offer")) else 0)
                services.offer_choose(actor=request.user, offer=offer, bid_id=p.get("bid"),
                                      reason=p.get("reason", ""))
            else:
                raise Http404
            messages.success(request, _("Saved."))
        except PermissionDenied:
            raise
        except ServiceError as exc:
            messages.error(request, exc.message)
        return redirect("partners:staff-orders", cycle.pk)
    return render(request, "partners/orders.html", {
        "cycle": cycle, "offers": selectors.offers_for_cycle(cycle), "offerable": selectors.offerable(cycle),
        "partner_delivery": bool(cycle.config.get("partner_delivery")), "today": dt.date.today()})
