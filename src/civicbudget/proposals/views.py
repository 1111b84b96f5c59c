"""Proposal pages: residents propose and follow; officers enter, import and merge."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicbudget.accounts.permissions import (
    cycle_staff_require,
    is_staff_member,
    permission_check,
    permission_require,
    scopes_for,
)
from civicbudget.clientaddr import client_address
from civicbudget.cycles.models import Cycle
from civicbudget.errors import PermissionDenied, ServiceError
from civicbudget.identity import keyed_hash
from civicbudget.outreach.sources import source_for
from civicbudget.params import is_number, query_int
from civicbudget.places.models import Community
from civicbudget.proposals import selectors, services
from civicbudget.proposals.forms import ProposalForm, QuickEntryForm
from civicbudget.proposals.models import Channel, MergeOperation, Project
from civicbudget.proposals.services import ProposalInput


def _cycle(cycle_id: int) -> Cycle:
    try:
        return Cycle.objects.select_related("district").prefetch_related("stages").get(pk=cycle_id)
    except Cycle.DoesNotExist as exc:
        raise Http404 from exc


def _communities(cycle: Cycle):
    return cycle.communities.select_related("street").order_by("street__code", "street__name", "name")


def propose(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """The residents' online form (mobile first)."""
    cycle = _cycle(cycle_id)
    form = ProposalForm(request.POST or None, request.FILES or None, communities=_communities(cycle))
    open_now = "submit" in cycle.allowed_actions()
    if request.method == "POST" and request.POST.get("action") == "send_code":
        from civicbudget.voting.services import otp_send

        form = ProposalForm(request.POST, communities=_communities(cycle))
        try:
            otp_send(phone=request.POST.get("phone", ""), client=client_address(request))
        except ServiceError as exc:
            form.add_error("phone" if exc.field == "phone" else None, exc.message)
        else:
            messages.success(request, _("A code was sent to your phone."))
        return render(request, "proposals/propose.html", {"cycle": cycle, "form": form,
                                                           "open_now": open_now})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            proposal = services.proposal_submit(
                cycle=cycle,
                data=ProposalInput(
                    community_id=d["community"], text=d["text"], title=d["title"],
                    project_type=d["project_type"], address=d["address"],
                    proposer_name=d["proposer_name"], phone=d["phone"],
                    proposer_kind=d["proposer_kind"], channel=Channel.ONLINE,
                ),
                photo=d.get("photo"), client_id=client_address(request),
                phone_code=d.get("phone_code", ""), site_url=request.build_absolute_uri("/"),
                source=source_for(request, cycle), notify=bool(d.get("notify")),
            )
        except PermissionDenied:
            raise  # a 403 (web.middleware), not a message on a redirect
        except ServiceError as exc:
            if exc.field and exc.field in form.fields:
                form.add_error(exc.field, exc.message)
            else:
                form.add_error(None, exc.message)
        else:
            # Only a keyed hash: the session holds no tracking code (it opens the proposal's
            # page, and sessions are a file or a table another process may read).
            request.session["last_proposal"] = keyed_hash(proposal.tracking_code, "tracking")
            return redirect("proposals:track", code=proposal.tracking_code)
    return render(request, "proposals/propose.html", {"cycle": cycle, "form": form,
                                                       "open_now": open_now})


def track_lookup(request: HttpRequest) -> HttpResponse:
    code = (request.GET.get("code") or "").strip().upper()
    if code:
        if selectors.proposal_by_code(code):
            return redirect("proposals:track", code=code)
        messages.error(request, _("No proposal has the tracking code %(code)s.") % {"code": code[:12]})
    return render(request, "proposals/track_lookup.html", {"code": code[:12]})


def track(request: HttpRequest, code: str) -> HttpResponse:
    proposal = selectors.proposal_by_code(code)
    if proposal is None:
        raise Http404
    just_sent = request.session.pop("last_proposal", None) == keyed_hash(proposal.tracking_code, "tracking")
    count = proposal.project.proposals.count() if proposal.project_id else 0
    return render(request, "proposals/track.html", {
        "proposal": proposal, "steps": selectors.proposal_timeline(proposal),
        "just_sent": just_sent, "project_count": count,
        "similar": selectors.similar_for_proposer(proposal),
    })


def project_list(request: HttpRequest, cycle_id: int) -> HttpResponse:
    cycle = _cycle(cycle_id)
    community_id = query_int(request, "community")
    projects = selectors.project_list(cycle, community_id=community_id)
    page = Paginator(projects, 50).get_page(request.GET.get("page"))
    return render(request, "proposals/projects.html", {
        "cycle": cycle, "page": page, "communities": _communities(cycle),
        "community_id": community_id, "counts": selectors.proposal_counts(cycle),
    })


#: Source proposals per page of a project page.
PROJECT_PROPOSALS_PER_PAGE = 20


def project_page(request: HttpRequest, project_id: int) -> HttpResponse:
    """A project: what it is, where it stands, and the residents' proposals it gathers
    (summary, then pages)."""
    from civicbudget.opendata.selectors import project_facts

    project = get_object_or_404(Project.objects.select_related("cycle__district", "street", "community")
                                .prefetch_related("cycle__stages"), pk=project_id, is_active=True)
    community_id = query_int(request, "community")
    proposals = project.proposals.select_related("community").order_by("submitted_at", "pk")
    by_community = selectors.project_proposal_communities(project)
    shown = proposals.filter(community_id=community_id) if community_id else proposals
    # A merged project can gather hundreds of proposals: the page summarises them (count,
    # communities) and lists them a page at a time, so every one stays reachable.
    page = Paginator(shown, PROJECT_PROPOSALS_PER_PAGE).get_page(query_int(request, "page", maximum=10**6))
    return render(request, "proposals/project.html", {
        "project": project, "page": page, "count": sum(r["n"] for r in by_community),
        "by_community": by_community, "community_id": community_id,
        "facts": project_facts(project), "project_short_code": f"p{project.pk}",
    })


# -- staff --------------------------------------------------------------------------------------


def _staff_cycle(request: HttpRequest, cycle_id: int) -> Cycle | HttpResponse:
    if not (is_staff_member(request.user) or request.user.is_superuser):
        from civicbudget.audit.services import audit_record

        audit_record(request.user, "staff_page", None, outcome="denied", message=request.path[:200])
        return HttpResponseForbidden(_("This page is for staff with a role."))
    cycle = _cycle(cycle_id)
    cycle_staff_require(request.user, cycle, request.path)
    return cycle


def _int_or_none(value) -> int | None:
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 18 else None


def _my_communities(request: HttpRequest, cycle: Cycle, action: str) -> list[Community]:
    """The cycle's communities inside the user's roles for ``action`` (whatever the stage)."""
    paths = scopes_for(request.user, action)
    return [c for c in _communities(cycle)
            if any(f"d{cycle.district_id}/s{c.street_id}/c{c.pk}/".startswith(p) for p in paths)]


@login_required
def quick_entry(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """Keyboard-only entry of paper proposals: Enter saves, the form comes back ready."""
    cycle = _staff_cycle(request, cycle_id)
    if isinstance(cycle, HttpResponse):
        return cycle
    communities = _my_communities(request, cycle, "submit")
    initial = {"community": request.session.get("entry_community"),
               "channel": request.session.get("entry_channel", Channel.DOOR_TO_DOOR),
               "source": request.session.get("entry_source", ""),
               "project_type": "works", "proposer_kind": "resident"}
    from civicbudget.outreach.selectors import point_choices

    form = QuickEntryForm(request.POST or None, communities=communities, initial=initial,
                          sources=point_choices(cycle))
    if request.method == "POST":
        # The form offers only the officer's own communities; a post for another one is a
        # refusal (403, audited), not a form error.
        posted = cycle.communities.filter(pk=_int_or_none(request.POST.get("community"))).first()
        if posted is not None:
            permission_require(request.user, "submit", posted, cycle)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            proposal = services.proposal_submit(
                cycle=cycle, entered_by=request.user,
                data=ProposalInput(
                    community_id=d["community"], text=d["text"], title=d["title"],
                    project_type=d["project_type"], address=d["address"],
                    proposer_name=d["proposer_name"], phone=d["phone"],
                    proposer_kind=d["proposer_kind"], channel=d["channel"],
                ),
                site_url=request.build_absolute_uri("/"),
                source=d.get("source") or "",
            )
        except PermissionDenied:
            raise  # a 403 (web.middleware), not a message on a redirect
        except ServiceError as exc:
            if exc.field and exc.field in form.fields:
                form.add_error(exc.field, exc.message)
            else:
                form.add_error(None, exc.message)
        else:
            request.session["entry_community"] = d["community"]
            request.session["entry_channel"] = d["channel"]
            request.session["entry_source"] = d.get("source") or ""
            messages.success(request, _("Saved %(code)s: %(title)s") % {
                "code": proposal.tracking_code, "title": proposal.title})
            # Back to an empty form, with what the saved proposal may duplicate.
            return redirect(reverse("proposals:staff-entry", kwargs={"cycle_id": cycle.pk})
                            + f"?saved={proposal.pk}")
    recent = (selectors.proposals_in_scope(cycle).filter(entered_by=request.user)
              .order_by("-submitted_at")[:10])
    return render(request, "proposals/staff_entry.html", {
        "cycle": cycle, "form": form, "recent": recent,
        "similar": _similar(request, cycle, request.GET.get("saved"), back="entry")})


def _similar(request: HttpRequest, cycle: Cycle, proposal_id, *, back: str) -> dict | None:
    """One proposal's suggestions, for staff whose role may merge in its community.

    Seeing them needs the role and place only (like the workbench's suggestions, also while
    proposals are still collected); the "move" button needs the merge stage too. Others,
    and ids of another cycle, get nothing (no hint that the proposal exists)."""
    pk = _int_or_none(proposal_id)
    proposal = (selectors.proposals_in_scope(cycle).select_related("community__street")
                .filter(pk=pk).first()) if pk else None
    if proposal is None or not permission_check(request.user, "merge", proposal.community, cycle,
                                                 any_stage=True):
        return None
    can_move = permission_check(request.user, "merge", proposal.community, cycle)
    # A street-level project takes a proposal only from those who may merge at the street.
    items = [(m, can_move and (m.target is None or m.target.community_id is not None
                               or permission_check(request.user, "merge", m.target.street, cycle)))
             for m in selectors.proposal_suggestions(proposal)]
    return {"proposal": proposal, "items": items, "can_move": can_move, "back": back}


@login_required
def import_page(request: HttpRequest, cycle_id: int) -> HttpResponse:
    cycle = _staff_cycle(request, cycle_id)
    if isinstance(cycle, HttpResponse):
        return cycle
    errors = None
    if request.method == "POST" and request.FILES.get("file"):
        upload = request.FILES["file"]
        try:
            report = services.proposals_import(actor=request.user, cycle=cycle,
                                               data=upload.read(10 * 1024 * 1024 + 1),
                                               filename=upload.name)
        except PermissionDenied:
            raise  # a 403 (web.middleware), not a message on a redirect
        except ServiceError as exc:
            messages.error(request, exc.message)
            errors = exc.details or None
        else:
            messages.success(request, _("Imported %(created)d proposals; %(skipped_duplicates)d were imported before.")
                             % report.as_dict())
            return redirect("proposals:staff-import", cycle_id=cycle.pk)
    return render(request, "proposals/staff_import.html", {"cycle": cycle, "errors": errors})


@login_required
def workbench(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """The merge workbench of one community (or a street, for street officers)."""
    cycle = _staff_cycle(request, cycle_id)
    if isinstance(cycle, HttpResponse):
        return cycle
    communities = _my_communities(request, cycle, "merge")
    chosen = request.GET.get("community")
    community = next((c for c in communities if str(c.pk) == chosen), communities[0] if communities else None)
    can_merge = community is not None and permission_check(request.user, "merge", community, cycle)
    suggestions = selectors.merge_suggestions(cycle, community_id=community.pk) if community else []
    projects = list(selectors.project_list(cycle, community_id=community.pk)) if community else []
    street_projects = list(selectors.project_list(cycle, street_id=community.street_id)
                           .filter(level="street")) if community else []
    loose = (selectors.proposals_in_scope(cycle, community_id=community.pk, unassigned_only=True)
             .order_by("submitted_at")[:300]) if community else []
    members = {}
    for p in selectors.proposals_in_scope(cycle, community_id=community.pk).filter(
            project__isnull=False).order_by("submitted_at") if community else []:
        members.setdefault(p.project_id, []).append(p)
    similar = _similar(request, cycle, request.GET.get("suggest"), back="workbench") if community else None
    if similar and similar["proposal"].community_id != community.pk:
        similar = None
    return render(request, "proposals/workbench.html", {
        "cycle": cycle, "communities": communities, "community": community, "similar": similar,
        "can_merge": can_merge, "suggestions": suggestions[:100],
        "suggestion_total": len(suggestions), "projects": projects,
        "street_projects": street_projects, "members": members, "loose": loose,
        "history": selectors.merge_history(cycle, community_id=community.pk) if community else [],
    })


@login_required
@require_POST
def workbench_action(request: HttpRequest, cycle_id: int) -> HttpResponse:
    cycle = _staff_cycle(request, cycle_id)
    if isinstance(cycle, HttpResponse):
        return cycle
    action = request.POST.get("action")
    ids = [i for i in request.POST.getlist("proposals") if is_number(i)]
    back = reverse("proposals:staff-workbench", kwargs={"cycle_id": cycle.pk})
    if is_number(request.POST.get("community")):
        back += f"?community={request.POST['community']}"
    if request.POST.get("next") == "entry":
        # the one-click move of the quick-entry page returns there (a fixed page, no open redirect)
        back = reverse("proposals:staff-entry", kwargs={"cycle_id": cycle.pk})
    try:
        if action == "group":
            project = services.project_create(actor=request.user, cycle=cycle, proposal_ids=ids,
                                              name=request.POST.get("name", ""))
            messages.success(request, _("Project “%(name)s” gathers %(n)d proposals.")
                             % {"name": project.name, "n": len(ids)})
        elif action == "move":
            target = get_object_or_404(Project, pk=request.POST.get("project") or 0, cycle=cycle)
            services.proposals_move(actor=request.user, cycle=cycle, proposal_ids=ids, project=target)
            messages.success(request, _("Moved into “%(name)s”.") % {"name": target.name})
        elif action == "split":
            services.proposals_split(actor=request.user, cycle=cycle, proposal_ids=ids,
                                     name=request.POST.get("name", ""))
            messages.success(request, _("Split off."))
        elif action == "merge":
            chosen = [int(i) for i in request.POST.getlist("projects") if is_number(i)]
            projects = list(Project.objects.filter(cycle=cycle, pk__in=chosen))
            if len(projects) < 2:
                raise ServiceError(_("Choose at least two projects to merge."))
            projects.sort(key=lambda p: -p.proposals.count())
            services.projects_merge(actor=request.user, cycle=cycle, target=projects[0],
                                    others=projects[1:])
            messages.success(request, _("Merged into “%(name)s”.") % {"name": projects[0].name})
        elif action == "dismiss":
            services.suggestion_dismiss(actor=request.user, cycle=cycle, proposal_ids=ids,
                                        member_ids=[i for i in request.POST.getlist("members")
                                                    if is_number(i)])
            messages.success(request, _("Noted: these proposals will not be suggested together again."))
        elif action == "rename":
            project = get_object_or_404(Project, pk=request.POST.get("project") or 0, cycle=cycle)
            services.project_rename(actor=request.user, project=project,
                                    name=request.POST.get("name", ""),
                                    description=request.POST.get("description"))
            messages.success(request, _("Renamed."))
        elif action == "undo":
            op = get_object_or_404(MergeOperation, pk=request.POST.get("operation") or 0, cycle=cycle)
            services.merge_undo(actor=request.user, operation=op)
            messages.success(request, _("Undone."))
        else:
            raise ServiceError(_("Unknown action."))
    except PermissionDenied:
        raise  # a 403 (web.middleware), not a message on a redirect
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(back)

