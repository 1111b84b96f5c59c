"""Voting pages: identify, one-time code, ballots, receipts, turnout and results; polling points."""

from __future__ import annotations

import datetime as dt
import json
import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from civicbudget.accounts.permissions import (
    cycle_staff_require,
    scopes_for,
    staff_member_require,
)
from civicbudget.clientaddr import client_address
from civicbudget.cycles.models import Cycle
from civicbudget.errors import PermissionDenied, ServiceError
from civicbudget.ledger import PublicKey, verify_receipt_proof
from civicbudget.outreach.sources import source_for
from civicbudget.params import is_number, parse_int
from civicbudget.voting import logstore, selectors, services
from civicbudget.voting.division import scope_key as division_scope_key
from civicbudget.voting.electorate import group_name
from civicbudget.voting.idcard import DOC_TYPES
from civicbudget.voting.models import (
    Participation,
    PollingStation,
    Voter,
    VotingChannel,
    VotingScope,
    scope_keys,
)

DOC_LABELS = {"id_card": gettext_lazy("Resident ID card"), "passport": gettext_lazy("Passport"),
              "hk_macao": gettext_lazy("Hong Kong/Macao permit"), "taiwan": gettext_lazy("Taiwan permit")}


def _cycle(cycle_id: int) -> Cycle:
    cycle = Cycle.objects.select_related("district").prefetch_related("stages").filter(pk=cycle_id).first()
    if cycle is None:
        raise Http404
    return cycle


def _communities(cycle):
    return cycle.communities.select_related("street").order_by("street__code", "name")


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        raise ServiceError(_("Give the birth date as YYYY-MM-DD."), field="birth_date") from None


#: A voter's session ends after this long without a request (staff sessions keep Django's
#: SESSION_COOKIE_AGE), and at once when their last ballot is cast.
VOTER_SESSION_IDLE = 30 * 60


def _voter_session_touch(request: HttpRequest) -> None:
    # Saving the session restarts its 30 minutes: the limit counts idle time, not visit length.
    # A staff member's own session keeps the staff policy.
    if request.user.is_authenticated:
        return
    request.session.set_expiry(VOTER_SESSION_IDLE)
    request.session.modified = True


def _voter_session_end(request: HttpRequest) -> None:
    if request.user.is_authenticated:
        # A staff member voting in their own browser stays logged in; the vote keys go.
        for key in ("voter", "vote_pending", "receipts"):
            request.session.pop(key, None)
    else:
        request.session.flush()


def vote_start(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """Step 1: who you are (document, community, basis) and your mobile for the code."""
    cycle = _cycle(cycle_id)
    errors: dict[str, str] = {}
    data = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        try:
            if "vote" not in cycle.allowed_actions():
                services._vote_open(cycle)
            identity = services.voter_check(
                cycle=cycle, doc_type=data.get("doc_type", ""), doc_number=data.get("doc_number", ""),
                birth_date=_date(data.get("birth_date", "")), community_id=data.get("community"),
                basis=data.get("basis", ""), phone=data.get("phone", ""))
            services.otp_send(phone=data.get("phone", ""), cycle=cycle, client=client_address(request))
        except ServiceError as exc:
            errors[exc.field or "form"] = exc.message
        else:
            # Kept server-side for 10 minutes as hashes; the session only names it, and the
            # phone itself is not kept once the code is sent.
            token = services.pending_vote_start(cycle=cycle, identity=identity)
            request.session["vote_pending"] = {"cycle": cycle.pk, "token": token}
            if data.get("notify"):
                # Confirmed only once the SMS code comes back (step 2); the session names the row.
                from civicbudget.notifications.services import subscription_create

                try:
                    subscription = subscription_create(cycle=cycle, phone=data.get("phone", ""),
                                                       community=identity.community, origin="vote")
                except ServiceError as exc:
                    messages.warning(request, exc.message)  # the vote goes on without the SMS
                else:
                    request.session["vote_pending"]["subscription"] = subscription.pk
            _voter_session_touch(request)
            return redirect("voting:verify", cycle_id=cycle.pk)
    return render(request, "voting/start.html", {
        "cycle": cycle, "open_now": "vote" in cycle.allowed_actions(), "errors": errors,
        "data": data, "doc_types": [(d, DOC_LABELS[d]) for d in DOC_TYPES],
        "communities": _communities(cycle),
        "min_age": cycle.config.get("min_voter_age", 15), "phone_limit": services.phone_limit(cycle),
        "group": group_name(cycle),
    })


def vote_verify(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """Step 2: the one-time code sent by SMS."""
    cycle = _cycle(cycle_id)
    pending = request.session.get("vote_pending")
    if not pending or pending.get("cycle") != cycle.pk:
        return redirect("voting:start", cycle_id=cycle.pk)
    if services.pending_vote_get(cycle=cycle, token=pending.get("token", "")) is None:
        request.session.pop("vote_pending", None)
        messages.error(request, _("More than 10 minutes went by since step 1: please start again."))
        return redirect("voting:start", cycle_id=cycle.pk)
    error = ""
    if request.method == "POST":
        try:
            voter = services.pending_vote_finish(cycle=cycle, token=pending.get("token", ""),
                                                 code=request.POST.get("code", ""),
                                                 source=source_for(request, cycle))
        except ServiceError as exc:
            error = exc.message
        else:
            if voter is None:
                error = _("The code is wrong or has expired.")
            else:
                if pending.get("subscription"):
                    from civicbudget.notifications.services import subscription_confirm

                    subscription_confirm(subscription_id=pending["subscription"])
                request.session.cycle_key()  # a fresh session id once the voter is verified
                request.session["voter"] = {"cycle": cycle.pk, "voter": voter.pk}
                request.session.pop("vote_pending", None)
                _voter_session_touch(request)
                return redirect("voting:ballot", cycle_id=cycle.pk)
    return render(request, "voting/verify.html", {"cycle": cycle, "error": error})


def _session_voter(request: HttpRequest, cycle: Cycle) -> Voter | None:
    info = request.session.get("voter")
    if not info or info.get("cycle") != cycle.pk:
        return None
    _voter_session_touch(request)
    return Voter.objects.select_related("community__street", "cycle").filter(pk=info["voter"]).first()


def vote_ballot(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """Step 3: the voter's ballots (their community's and their street's)."""
    cycle = _cycle(cycle_id)
    voter = _session_voter(request, cycle)
    if voter is None:
        return redirect("voting:start", cycle_id=cycle.pk)
    errors: dict[int, str] = {}
    if request.method == "POST":
        scope = get_object_or_404(VotingScope, pk=request.POST.get("scope") or 0, cycle=cycle)
        spec = logstore.spec_from_json(scope.spec)
        if spec.vote_type in ("cumulative", "scoring"):
            points = {p.id: parse_int(request.POST.get(f"points_{p.id}"), maximum=10**9)
                      for p in spec.projects}
            choices = {pid: n for pid, n in points.items() if n}
        elif spec.vote_type == "ordinal":
            ranks = {p.id: parse_int(request.POST.get(f"rank_{p.id}"), maximum=10**6) for p in spec.projects}
            ranked = sorted((rank, pid) for pid, rank in ranks.items() if rank is not None)
            choices = [pid for _, pid in ranked]
        else:
            choices = request.POST.getlist("projects")
        try:
            cast = services.ballot_cast(voter=voter, scope=scope, choices=choices,
                                        token=request.POST.get("token", "")[:64])
        except ServiceError as exc:
            errors[scope.pk] = exc.message
        else:
            # The only time the choices are shown: in the answer to the cast itself. Neither
            # the receipt nor the choices are kept with the voter (not even in the session).
            names = {p.id: p.name for p in spec.projects}
            picked = (sorted(choices.items()) if isinstance(choices, dict)
                      else [(pid, None) for pid in choices])
            voted = set(Participation.objects.filter(voter=voter).values_list("scope_id", flat=True))
            left = [s for s in services.voter_scopes(voter) if s.pk not in voted]
            if not left:
                _voter_session_end(request)  # every ballot cast: nothing left to do signed in
            return render(request, "voting/cast.html", {
                "cycle": cycle, "scope": scope, "receipt": cast.receipt, "repeated": cast.repeated,
                "choices": [(names.get(pid, pid), pts) for pid, pts in picked],
                "ordinal": spec.vote_type == "ordinal", "left": left})
    voted = {p.scope_id: p for p in Participation.objects.filter(voter=voter)}
    ballots = []
    for scope in services.voter_scopes(voter):
        spec = logstore.spec_from_json(scope.spec)
        ballots.append({"scope": scope, "spec": spec, "participation": voted.get(scope.pk),
                        "division": scope.key.startswith("division:"),
                        "token": secrets.token_hex(16), "error": errors.get(scope.pk),
                        "home": f"community:{voter.community_id}"})
    return render(request, "voting/ballot.html", {"cycle": cycle, "voter": voter, "ballots": ballots,
                                                  "open_now": "vote" in cycle.allowed_actions()})


def receipt_page(request: HttpRequest, cycle_id: int, receipt: str | None = None) -> HttpResponse:
    """Look a receipt up: whether its ballot is in the log (batch, checkpoint, inclusion
    proof) or still waits in the open batch; never what the ballot says."""
    cycle = _cycle(cycle_id)
    receipt = (receipt or request.GET.get("receipt") or "").strip().lower()[:64]
    status = proof = verified = None
    if receipt:
        log = logstore.log_for(cycle)
        status = logstore.receipt_status(log, receipt)
        proof = status["proof"] if status and status["state"] == "logged" else None
        if proof is not None:
            verified = verify_receipt_proof(proof, PublicKey.from_hex(log.public_key))
        elif status is None and request.GET.get("format") != "json":
            messages.error(request, _("No ballot in this cycle's log has that receipt."))
    if request.GET.get("format") == "json":
        if status is None:
            raise Http404
        return HttpResponse(json.dumps(status, ensure_ascii=False, indent=1),
                            content_type="application/json")
    return render(request, "voting/receipt.html", {
        "cycle": cycle, "receipt": receipt, "status": status, "proof": proof, "verified": verified,
        "proof_json": json.dumps(proof, ensure_ascii=False, indent=1) if proof else "",
    })


#: Rows of each ballot's ranked table shown before the fold on the results page.
RESULT_ROWS_SHOWN = 3


def results_page(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """Live turnout; results only once voting has closed and been counted."""
    from civicbudget.paperaudit.models import PaperAudit

    cycle = _cycle(cycle_id)
    tables = selectors.result_tables(cycle)
    audits = {a.scope_id: a for a in PaperAudit.objects.filter(cycle=cycle)}
    for t in tables:
        t["audit"] = audits.get(t["result"].scope_id)
        # On a phone a district's ballots run to many screens: each shows its top rows and
        # folds the rest (one click away, still in the page); folding one row saves nothing.
        fold = len(t["rows"]) - RESULT_ROWS_SHOWN >= 2
        t["top"] = t["rows"][:RESULT_ROWS_SHOWN] if fold else t["rows"]
        t["rest"] = t["rows"][RESULT_ROWS_SHOWN:] if fold else []
        t["rest_won"] = sum(r["won"] for r in t["rest"])
    # One rule for every ballot (the usual case) is said once, above them.
    sentences = {t["rule_sentence"] for t in tables}
    from civicbudget.voting.division import division_table

    return render(request, "voting/results.html", {
        "cycle": cycle, "turnout": selectors.turnout(cycle), "tables": tables,
        "division": division_table(selectors.results(cycle)),
        "one_rule": sentences.pop() if len(sentences) == 1 else "", "has_audit": bool(audits),
        "has_log": hasattr(cycle, "ballot_log")})


def ledger_download(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """The public export of the closed ballot log, as a zip (same bytes for everyone, with an
    ETag so browsers and proxies revalidate)."""
    from django.http import HttpResponseNotModified

    from civicbudget.voting.export import ledger_zip

    cycle = _cycle(cycle_id)
    zipped = ledger_zip(cycle, known=request.headers.get("If-None-Match"))
    if zipped is None:
        raise Http404
    etag, data = zipped
    if data is None:
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(data, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="cycle-{cycle.pk}-ledger.zip"'
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=300"
    return response


# -- back-office: phones and clients --------------------------------------------------------


@login_required
def phone_watch(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """Phones and clients with unusual numbers of codes, failed attempts or voters, and the
    SMS budget's alerts; for district admins and operators."""
    from civicbudget.accounts.permissions import permission_require

    cycle = _cycle(cycle_id)
    # A refusal is an audited 403 with its reason (web.middleware.PermissionDeniedMiddleware).
    permission_require(request.user, "manage_cycles", cycle.district, cycle)
    return render(request, "voting/phones.html", {"cycle": cycle, "watch": selectors.phone_watch(cycle)})


# -- polling points ----------------------------------------------------------------------------


def _officer_communities(request, cycle):
    paths = scopes_for(request.user, "vote")
    return [c for c in _communities(cycle)
            if any(f"d{cycle.district_id}/s{c.street_id}/c{c.pk}/".startswith(p) for p in paths)]


@login_required
def polling(request: HttpRequest, cycle_id: int) -> HttpResponse:
    """A polling officer's desk: stations, check-in, paper ballot entry, reconciliation, review."""
    staff_member_require(request.user, request.path)
    cycle = _cycle(cycle_id)
    cycle_staff_require(request.user, cycle, request.path)
    communities = _officer_communities(request, cycle)
    stations = list(PollingStation.objects.filter(cycle=cycle, community__in=communities)
                    .select_related("community__street"))
    station = next((s for s in stations if str(s.pk) == request.GET.get("station")),
                   stations[0] if stations else None)
    context = {"cycle": cycle, "communities": communities, "stations": stations, "station": station,
               "doc_types": [(d, DOC_LABELS[d]) for d in DOC_TYPES],
               "kinds": [c for c in VotingChannel.choices if c[0] != "online"],
               "open_now": "vote" in cycle.allowed_actions()}
    if station:
        scopes = list(VotingScope.objects.filter(
            cycle=cycle, key__in=scope_keys(station.community_id, station.community.street_id)))
        context.update({"scopes": [(s, logstore.spec_from_json(s.spec)) for s in scopes],
                        "reconciliation": selectors.reconciliation(station),
                        # the theme division is cast online only: the desk says so
                        "division_online": VotingScope.objects.filter(
                            cycle=cycle, key=division_scope_key(cycle)).exists(),
                        "review": selectors.review_queue(station),
                        "offline": selectors.offline_conflicts(station),
                        "sync_errors": request.session.pop("sync_errors", None)})
    return render(request, "voting/polling.html", context)


@login_required
@require_POST
def polling_action(request: HttpRequest, cycle_id: int) -> HttpResponse:
    staff_member_require(request.user, request.path)
    cycle = _cycle(cycle_id)
    action = request.POST.get("action")
    station = None
    if is_number(request.POST.get("station")):
        station = get_object_or_404(PollingStation.objects.select_related("community__street", "cycle"),
                                    pk=request.POST["station"], cycle=cycle)
    try:
        if action == "station":
            community = get_object_or_404(cycle.communities, pk=request.POST.get("community") or 0)
            station = services.station_create(actor=request.user, cycle=cycle, community=community,
                                              name=request.POST.get("name", ""),
                                              kind=request.POST.get("kind", "polling"))
            messages.success(request, _("Polling point %(name)s is open.") % {"name": station.name})
        elif station is None:
            raise ServiceError(_("Choose a polling point first."))
        elif action == "sync":
            upload = request.FILES.get("file")
            if upload is None:
                raise ServiceError(_("Choose the poll book file of the box."), field="file")
            try:
                report = services.station_offline_sync(officer=request.user, station=station,
                                                       data=upload.read(10 * 1024 * 1024 + 1),
                                                       filename=upload.name)
            except PermissionDenied:
                raise  # a 403 (web.middleware), not a message on a redirect
            except ServiceError as exc:
                request.session["sync_errors"] = exc.details
                raise
            messages.success(request, _("Synced: %(accepted)d check-ins, %(conflicts)d conflicts for review, %(already_synced)d synced before.")
                             % report.__dict__)
            if report.quarantined:
                messages.warning(request, _("%(n)d check-in(s) quarantined for an officer to decide: %(why)s.")
                                 % {"n": report.quarantined, "why": report.reasons_text()})
        elif action == "resolve_offline":
            from civicbudget.voting.models import OfflineCheckIn

            check_in = get_object_or_404(OfflineCheckIn, pk=request.POST.get("check_in") or 0, station=station)
            services.offline_conflict_resolve(officer=request.user, check_in=check_in,
                                              resolution=request.POST.get("resolution", ""))
            messages.success(request, _("Conflict settled."))
        elif action == "decide_quarantine":
            from civicbudget.voting.models import OfflineCheckIn

            check_in = get_object_or_404(OfflineCheckIn, pk=request.POST.get("check_in") or 0, station=station)
            decided = services.offline_quarantine_decide(
                officer=request.user, check_in=check_in, accept=request.POST.get("decision") == "accept",
                note=request.POST.get("note", ""))
            messages.success(request, _("Check-in %(id)s: %(state)s.") % {
                "id": decided.client_id, "state": decided.get_state_display()})
        elif action == "observers":
            services.station_observers_record(officer=request.user, station=station,
                                              observers=request.POST.get("observers", ""))
            messages.success(request, _("Observers of the count recorded."))
        elif action == "check_in":
            made = services.poll_check_in(
                officer=request.user, station=station, doc_type=request.POST.get("doc_type", ""),
                doc_number=request.POST.get("doc_number", ""),
                birth_date=_date(request.POST.get("birth_date", "")),
                community_id=request.POST.get("community"), basis=request.POST.get("basis", ""))
            messages.success(request, _("Checked in: hand out the ballots of %(scopes)s.")
                             % {"scopes": "、".join(p.scope.title for p in made.issued)})
            if made.already:
                messages.warning(request, _("Do not hand out: %(what)s.")
                                 % {"what": services.already_cast_text(made.already)})
        elif action in ("enter", "resolve"):
            scope = get_object_or_404(VotingScope, pk=request.POST.get("scope") or 0, cycle=cycle)
            number = request.POST.get("number", "")
            number = int(number) if is_number(number) else -1
            choices = request.POST.getlist("projects")
            if action == "enter":
                reading = services.paper_ballot_enter(officer=request.user, station=station,
                                                      scope=scope, number=number, choices=choices)
            else:
                reading = services.paper_conflict_resolve(officer=request.user, station=station,
                                                          scope=scope, number=number, choices=choices)
            messages.success(request, _("Ballot %(n)d: %(state)s.") % {
                "n": number, "state": reading.get_state_display()})
        else:
            raise ServiceError(_("Unknown action."))
    except PermissionDenied:
        raise  # a 403 (web.middleware), not a message on a redirect
    except ServiceError as exc:
        messages.error(request, exc.message)
    url = f"/staff/cycles/{cycle.pk}/polling/"
    return redirect(f"{url}?station={station.pk}" if station else url)
