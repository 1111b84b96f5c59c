"""Public pages and the staff back-office. Views parse, call a service or selector, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicbudget.accounts.permissions import (
    district_staff_require,
    is_staff_member,
    permission_check,
    scopes_for,
    staff_member_require,
)
from civicbudget.audit.selectors import audit_event_list
from civicbudget.audit.services import audit_record
from civicbudget.cycles import selectors as cycle_selectors
from civicbudget.cycles import services as cycle_services
from civicbudget.cycles.models import Cycle
from civicbudget.cycles.stages import ACTION_LABELS, KIND_ACTIONS, KIND_LABELS
from civicbudget.cycles.templates import templates
from civicbudget.errors import PermissionDenied, ServiceError
from civicbudget.params import is_number
from civicbudget.places import services as place_services
from civicbudget.places.models import Community, District, Street
from civicbudget.places.paths import path_contains
from civicbudget.places.selectors import district_tree
from civicbudget.tabular import MAX_BYTES as UPLOAD_MAX_BYTES
from civicbudget.voting.electorate import (
    MAX_GROUP_NAME,
    electorate_set,
    group_member_count,
    group_name,
    members_import,
    vote_started,
)
from civicbudget.web.forms import AdvanceForm, CommunityForm, CycleForm, ImportForm, StreetForm
from civicbudget.web.todo import todo_count, todo_list
from civicbudget.wording import listing


def home(request: HttpRequest) -> HttpResponse:
    """The district home: one district shows its cycles; several, a list to choose from."""
    districts = list(District.objects.all())
    if len(districts) == 1:
        return district_home(request, districts[0].pk)
    cycles = _running_first(cycle_selectors.cycle_list())
    return render(request, "web/home.html", {
        "districts": [(d, [c for c in cycles if c.district_id == d.pk]) for d in districts],
    })


def _running_first(cycles) -> list:
    """A resident comes for the cycle that is open now: running cycles lead, newest first."""
    return sorted(cycles, key=lambda c: c.status != "running")


def district_home(request: HttpRequest, district_id: int) -> HttpResponse:
    district = get_object_or_404(District, pk=district_id)
    cycles = _running_first(cycle_selectors.cycle_list(district.pk))
    tree = district_tree(district)
    return render(request, "web/district.html", {
        "district": district, "cycles": cycles,
        "street_count": len(tree["streets"]),
        "community_count": sum(len(s["communities"]) for s in tree["streets"]),
    })


def cycle_page(request: HttpRequest, cycle_id: int) -> HttpResponse:
    try:
        cycle = cycle_selectors.cycle_detail(cycle_id)
    except Cycle.DoesNotExist as exc:
        raise Http404 from exc
    return render(request, "web/cycle.html", {
        "cycle": cycle, "stages": cycle.ordered_stages(), "current": cycle.current_stage,
        "streets": cycle_selectors.cycle_pools_by_street(cycle),
        "pools_total": cycle_selectors.cycle_total_pools_yuan(cycle),
        "population": sum(c.population for c in cycle.communities.all()),
        "allowed": [ACTION_LABELS[a] for a in sorted(cycle.allowed_actions())],
        "group": group_name(cycle),
    })


# -- staff back-office ------------------------------------------------------------------------


def _staff_only(request: HttpRequest) -> HttpResponse | None:
    if is_staff_member(request.user) or request.user.is_superuser:
        return None
    audit_record(request.user, "staff_page", None, outcome="denied", message=request.path[:200])
    return HttpResponseForbidden(_("This page is for staff with a role."))


def _visible_districts(user) -> list[District]:
    if user.is_superuser:
        return list(District.objects.all())
    paths = scopes_for(user, "view_staff")
    return [d for d in District.objects.all() if any(p.startswith(f"d{d.pk}/") for p in paths)]


@login_required
def staff_home(request: HttpRequest) -> HttpResponse:
    if (denied := _staff_only(request)) is not None:
        return denied
    districts = _visible_districts(request.user)
    cycles = [c for c in cycle_selectors.cycle_list() if c.district in districts]
    # Links only to what this user may use: the same checks the linked views make.
    todo = todo_list(request.user)
    return render(request, "web/staff/home.html", {
        "districts": [(d, permission_check(request.user, "manage_cycles", d)) for d in districts],
        "cycles": cycles, "can_audit": _can_read_audit(request.user),
        "todo": todo, "todo_total": todo_count(todo),
    })


def _can_read_audit(user) -> bool:
    return bool(user.is_superuser or scopes_for(user, "view_audit"))


@login_required
def staff_places(request: HttpRequest, district_id: int) -> HttpResponse:
    if (denied := _staff_only(request)) is not None:
        return denied
    district = get_object_or_404(District, pk=district_id)
    district_staff_require(request.user, district.pk, district, request.path)
    paths = scopes_for(request.user, "view_staff")
    tree = district_tree(district)
    if not request.user.is_superuser:
        # A street or community officer sees only their part of the tree.
        def visible(path: str) -> bool:
            return any(path_contains(p, path) or path_contains(path, p) for p in paths)

        tree["streets"] = [
            {**s, "communities": [c for c in s["communities"]
                                  if visible(f"d{district.pk}/s{s['id']}/c{c['id']}/")]}
            for s in tree["streets"] if visible(f"d{district.pk}/s{s['id']}/")
        ]
    can_edit = permission_check(request.user, "configure_places", district)
    streets = Street.objects.filter(district=district)
    street_form = StreetForm(prefix="street")
    community_form = CommunityForm(prefix="community", streets=streets)
    import_form = ImportForm()
    import_errors = None
    if request.method == "POST":
        kind = request.POST.get("form")
        try:
            if kind == "street":
                street_form = StreetForm(request.POST, prefix="street")
                if street_form.is_valid():
                    d = street_form.cleaned_data
                    place_services.street_create(actor=request.user, district=district, name=d["name"],
                                                 population=d["population"] or 0, code=d["code"])
                    messages.success(request, _("Street %(name)s created.") % {"name": d["name"]})
                    return redirect("web:staff-places", district_id=district.pk)
            elif kind == "community":
                community_form = CommunityForm(request.POST, prefix="community", streets=streets)
                if community_form.is_valid():
                    d = community_form.cleaned_data
                    street = get_object_or_404(Street, pk=d["street"], district=district)
                    place_services.community_create(actor=request.user, street=street, name=d["name"],
                                                    population=d["population"] or 0, code=d["code"],
                                                    eligible_population=d["eligible_population"] or 0)
                    messages.success(request, _("Community %(name)s created.") % {"name": d["name"]})
                    return redirect("web:staff-places", district_id=district.pk)
            elif kind == "import":
                import_form = ImportForm(request.POST, request.FILES)
                if import_form.is_valid():
                    upload = import_form.cleaned_data["file"]
                    report = place_services.places_import(
                        actor=request.user, district=district,
                        data=upload.read(10 * 1024 * 1024 + 1), filename=upload.name,
                    )
                    messages.success(request, _(
                        "Imported: %(created)d created, %(updated)d updated, %(unchanged)d unchanged."
                    ) % report.as_dict())
                    return redirect("web:staff-places", district_id=district.pk)
        except PermissionDenied:
            raise  # a 403 (web.middleware), not a message on a redirect
        except ServiceError as exc:
            messages.error(request, exc.message)
            import_errors = exc.details or None
    return render(request, "web/staff/places.html", {
        "district": district, "tree": tree, "can_edit": can_edit, "street_form": street_form,
        "community_form": community_form, "import_form": import_form,
        "import_errors": import_errors,
    })


@login_required
def staff_cycle_new(request: HttpRequest, district_id: int) -> HttpResponse:
    if (denied := _staff_only(request)) is not None:
        return denied
    district = get_object_or_404(District, pk=district_id)
    district_staff_require(request.user, district.pk, district, request.path)
    form = CycleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            cycle = cycle_services.cycle_create(
                actor=request.user, district=district, template_key=d["template_key"],
                name=d["name"], name_en=d["name_en"], year=d["year"], starts_on=d["starts_on"],
                total_budget_yuan=d["total_budget_yuan"],
            )
        except PermissionDenied:
            raise  # a 403 (web.middleware), not a message on a redirect
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Cycle created from its template."))
            return redirect("web:staff-cycle", cycle_id=cycle.pk)
    return render(request, "web/staff/cycle_new.html", {
        "district": district, "form": form, "templates": templates().values(),
        "kind_labels": KIND_LABELS,
    })


@login_required
def staff_cycle(request: HttpRequest, cycle_id: int) -> HttpResponse:
    if (denied := _staff_only(request)) is not None:
        return denied
    try:
        cycle = cycle_selectors.cycle_detail(cycle_id)
    except Cycle.DoesNotExist as exc:
        raise Http404 from exc
    district_staff_require(request.user, cycle.district_id, cycle, request.path)
    tree = district_tree(cycle.district)
    participating_streets = {s.pk for s in cycle.streets.all()}
    participating_communities = {c.pk for c in cycle.communities.all()}
    # The electorate section only for those the services let change it: manage_cycles.
    can_electorate = permission_check(request.user, "manage_cycles", cycle.district, cycle)
    electorate = None
    if can_electorate:
        members_errors = request.session.pop("members_errors", None)
        if not members_errors or members_errors.get("cycle") != cycle.pk:
            members_errors = None
        else:
            labels = {"doc_number": _("document number"), "doc_type": _("document type")}
            for row in members_errors["rows"]:
                row["field_label"] = labels.get(row.get("field"), row.get("field", ""))
        electorate = {"group": group_name(cycle), "count": group_member_count(cycle),
                      "is_frozen": vote_started(cycle), "max_name": MAX_GROUP_NAME,
                      "errors": members_errors}
    return render(request, "web/staff/cycle.html", {
        "cycle": cycle, "stages": cycle.ordered_stages(), "current": cycle.current_stage,
        "streets": cycle_selectors.cycle_pools_by_street(cycle), "tree": tree,
        "participating_streets": participating_streets,
        "participating_communities": participating_communities,
        "can_configure": permission_check(request.user, "configure", cycle.district, cycle),
        "can_advance": permission_check(request.user, "manage_cycles", cycle.district),
        # voting.views.phone_watch asks for manage_cycles, whatever the stage.
        "can_watch_phones": permission_check(request.user, "manage_cycles", cycle.district),
        # outreach.views asks for "publicise" at the district or at one of the cycle's streets.
        "can_publicise": any(permission_check(request.user, "publicise", place, cycle)
                             for place in [cycle.district, *cycle.streets.all()]),
        "advance_form": AdvanceForm(),
        "kind_actions": {k: sorted(v) for k, v in KIND_ACTIONS.items()},
        # Each stage's open actions and the template in words, not their codes.
        "stage_actions": {s.pk: listing(ACTION_LABELS[a] for a in sorted(s.allowed_actions))
                          for s in cycle.ordered_stages()},
        "template": templates().get(cycle.template_key),
        "pools_total": cycle_selectors.cycle_total_pools_yuan(cycle),
        "electorate": electorate,
    })


@login_required
@require_POST
def staff_cycle_participants(request: HttpRequest, cycle_id: int) -> HttpResponse:
    staff_member_require(request.user, request.path)
    cycle = get_object_or_404(Cycle, pk=cycle_id)
    streets = list(Street.objects.filter(pk__in=request.POST.getlist("streets"), district=cycle.district))
    communities = list(Community.objects.filter(
        pk__in=request.POST.getlist("communities"), street__district=cycle.district
    ).select_related("street"))
    try:
        cycle_services.cycle_set_participants(actor=request.user, cycle=cycle, streets=streets,
                                              communities=communities)
        messages.success(request, _("Participants saved."))
    except PermissionDenied:
        raise  # a 403 (web.middleware), not a message on a redirect
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("web:staff-cycle", cycle_id=cycle.pk)


@login_required
@require_POST
def staff_cycle_pool(request: HttpRequest, cycle_id: int) -> HttpResponse:
    staff_member_require(request.user, request.path)
    cycle = get_object_or_404(Cycle, pk=cycle_id)
    level = request.POST.get("level")
    model = Street if level == "street" else Community
    place = get_object_or_404(model, pk=request.POST.get("place_id") or 0)
    try:
        cycle_services.pool_set(actor=request.user, cycle=cycle, place=place,
                                amount_yuan=request.POST.get("amount_yuan", ""))
        messages.success(request, _("Pool of %(place)s saved.") % {"place": place})
    except PermissionDenied:
        raise  # a 403 (web.middleware), not a message on a redirect
    except ServiceError as exc:
        messages.error(request, f"{place}: {exc.message}")
    return redirect("web:staff-cycle", cycle_id=cycle.pk)


@login_required
@require_POST
def staff_cycle_advance(request: HttpRequest, cycle_id: int) -> HttpResponse:
    staff_member_require(request.user, request.path)
    cycle = get_object_or_404(Cycle, pk=cycle_id)
    form = AdvanceForm(request.POST)
    reason = form.data.get("reason", "")[:1000]
    expected = request.POST.get("expected_stage_id", "")
    try:
        stage = cycle_services.stage_advance(
            actor=request.user, cycle=cycle, reason=reason,
            expected_stage_id=int(expected) if is_number(expected) else None,
        )
    except PermissionDenied:
        raise  # a 403 (web.middleware), not a message on a redirect
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        if stage:
            messages.success(request, _("Now running: %(stage)s.") % {"stage": stage.display_name})
        else:
            messages.success(request, _("The cycle is finished."))
    return redirect("web:staff-cycle", cycle_id=cycle.pk)


@login_required
@require_POST
def staff_cycle_electorate(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """Switch who votes in the cycle: the residents of its places, or a group's members."""
    staff_member_require(request.user, request.path)
    cycle = get_object_or_404(Cycle, pk=cycle_id)
    try:
        name = electorate_set(actor=request.user, cycle=cycle, kind=request.POST.get("kind", "")[:20],
                              name=request.POST.get("name", "")[:200])
    except PermissionDenied:
        raise  # a 403 (web.middleware), not a message on a redirect
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Only the members of %(group)s may vote.") % {"group": name} if name
                         else _("The residents of the cycle's places may vote."))
    return redirect(reverse("web:staff-cycle", kwargs={"cycle_id": cycle.pk}) + "#electorate")


@login_required
@require_POST
def staff_cycle_members(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """Import the group's members' list (CSV/XLSX): every row, or nothing and each bad row."""
    staff_member_require(request.user, request.path)
    cycle = get_object_or_404(Cycle, pk=cycle_id)
    upload = request.FILES.get("file")
    try:
        # No file reaches the service as an empty one: it checks the permission first, then
        # says the file is empty.
        report = members_import(actor=request.user, cycle=cycle,
                                data=upload.read(UPLOAD_MAX_BYTES + 1) if upload else b"",
                                filename=upload.name if upload else "",
                                replace=request.POST.get("replace") == "1")
    except PermissionDenied:
        raise  # a 403 (web.middleware), not a message on a redirect
    except ServiceError as exc:
        messages.error(request, exc.message)
        if exc.details:
            # Line, field and problem only: no message quotes a document number.
            request.session["members_errors"] = {"cycle": cycle.pk, "rows": exc.details,
                                                 "omitted": exc.details_omitted}
    else:
        messages.success(request, _("Members' list imported: %(added)d added, %(already)d already on it, "
                                    "%(removed)d removed.") % report.as_dict())
        if not report.enforced:
            messages.warning(request, _("The cycle's vote is still for the residents of its places: the "
                                        "list counts once the electorate is switched to the group."))
    return redirect(reverse("web:staff-cycle", kwargs={"cycle_id": cycle.pk}) + "#electorate")


@login_required
def staff_audit(request: HttpRequest) -> HttpResponse:
    if (denied := _staff_only(request)) is not None:
        return denied
    if not _can_read_audit(request.user):
        audit_record(request.user, "view_audit", None, outcome="denied", message=request.path)
        return HttpResponseForbidden(_("Only observers, auditors and district admins read the audit trail."))
    events = audit_event_list(request.user, action=request.GET.get("action") or None,
                              outcome=request.GET.get("outcome") or None)[:500]
    return render(request, "web/staff/audit.html", {"events": events})


