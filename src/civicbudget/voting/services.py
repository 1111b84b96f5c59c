"""Register voters, check them in, cast and enter ballots, open scopes and count at close.

Channel policy: first wins. Whatever arrives first for a voter and a scope (an online ballot,
or a paper ballot handed out at check-in) holds the (voter, scope) row; every later attempt,
through any channel, is refused with the date and channel of the first.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

import civicbudget
from civicbudget.accounts.permissions import permission_require
from civicbudget.audit.services import audit_record
from civicbudget.cycles.models import Cycle, Stage
from civicbudget.errors import (
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RateLimited,
    ServiceError,
)
from civicbudget.identity import (
    IdentifierError,
    canonical_document,
    canonical_phone,
    document_hash,
    keyed_hash,
)
from civicbudget.ledger import EntryError, parse_entry, validate_ballot
from civicbudget.ledger.export import scope_election
from civicbudget.places.models import Community
from civicbudget.tally import tally
from civicbudget.voting import division, logstore
from civicbudget.voting.electorate import member_require
from civicbudget.voting.idcard import age_band, age_on, parse_id_number
from civicbudget.voting.models import (
    BallotLog,
    LogEntry,
    OneTimeCode,
    PaperEntry,
    Participation,
    PendingBallot,
    PollingStation,
    ScopeResult,
    Submission,
    Voter,
    VotingChannel,
    VotingScope,
    scope_keys,
)
from civicbudget.voting.sms import sms_send

logger = logging.getLogger(__name__)

OTP_TTL = dt.timedelta(minutes=10)
OTP_MAX_ATTEMPTS = 5
OTP_PER_HOUR = 5
MAX_VOTERS_PER_PHONE = 2  # a household shares a phone; more go to a polling point
SMS_HOURLY_BUDGET = 2000
BASES = ("live", "work", "study")


class AlreadyVoted(ServiceError):
    code = "already_voted"


def _vote_open(cycle: Cycle) -> None:
    if "vote" not in cycle.allowed_actions():
        stage = cycle.current_stage
        raise PreconditionFailed(
            _("Voting is not open (current stage: %(stage)s).")
            % {"stage": stage.display_name if stage else (_("in preparation") if cycle.status == "draft" else _("finished"))},
            code="voting_closed",
        )


def voter_scopes(voter: Voter) -> list[VotingScope]:
    """The ballots a voter votes on: the cycle's theme division first (if any), then their
    community's and their street's."""
    return [*VotingScope.objects.filter(cycle_id=voter.cycle_id, key__startswith=division.scope_key(voter.cycle_id)),
            *VotingScope.objects.filter(cycle_id=voter.cycle_id, key__in=scope_keys(voter.community_id, voter.community.street_id))
            .order_by("key")]


@dataclass(frozen=True)
class Identity:
    """A checked claim, as registration keeps it: the document only as its keyed hash."""

    doc_type: str
    doc_hash: str
    birth_date: dt.date
    community: Community
    basis: str
    phone_hash: str = ""


def _age_check(cycle: Cycle, birth_date: dt.date, day: dt.date) -> int:
    minimum = int(cycle.config.get("min_voter_age", 15))
    age = age_on(birth_date, day)
    if age < minimum:
        raise ServiceError(_("Voters must be %(min)d or older on voting day; by this birth date you are %(age)d.")
                           % {"min": minimum, "age": max(age, 0)}, field="birth_date", code="too_young")
    return age


def voter_check(*, cycle: Cycle, doc_type: str, doc_number: str, community_id, basis: str,
                birth_date: dt.date | None = None, phone: str = "", now: dt.datetime | None = None,
                check_age: bool = True) -> Identity:
    """Check a claim (document, birth date, community, basis, phone) and return it hashed.

    The age is taken on the local day of ``now`` (Asia/Shanghai by default), against the
    cycle's ``min_voter_age`` (15 unless configured); ``check_age=False`` leaves that to the
    caller, who must first know which day counts (an offline check-in's validated time).
    """
    now = now or timezone.now()
    try:
        number = canonical_document(doc_type, doc_number)
        carried = parse_id_number(number) if doc_type == "id_card" else None
    except IdentifierError as exc:
        raise ServiceError(str(exc), field=exc.field) from None
    if carried is not None:
        if birth_date and birth_date != carried:
            raise ServiceError(_("The birth date does not match the ID number."), field="birth_date")
        birth_date = carried
    if birth_date is None:
        raise ServiceError(_("Give the birth date shown on the document."), field="birth_date")
    allowed = cycle.config.get("eligibility_basis", list(BASES))
    if basis not in allowed:
        raise ServiceError(_("Say whether you live, work or study in the area."), field="basis")
    try:
        community = Community.objects.select_related("street").get(pk=int(community_id), cycles=cycle)
    except (Community.DoesNotExist, TypeError, ValueError):
        raise ServiceError(_("Choose a community that takes part in this cycle."),
                           field="community") from None
    if check_age:
        _age_check(cycle, birth_date, timezone.localdate(now))
    doc_hash = document_hash(doc_type, number)
    # A group's budget: only the documents on its list (every channel comes through here).
    member_require(cycle, doc_hash)
    phone_hash = ""
    if phone:
        try:
            phone_hash = keyed_hash(canonical_phone(phone, mobile_only=True), "phone")
        except IdentifierError as exc:
            raise ServiceError(str(exc), field="phone") from None
        # Checked before any SMS is sent; registration enforces it against races.
        limit = phone_limit(cycle)
        if Voter.objects.filter(cycle=cycle, phone_hash=phone_hash).exclude(doc_hash=doc_hash).count() >= limit:
            raise _phone_full(limit)
    return Identity(doc_type=doc_type, doc_hash=doc_hash, birth_date=birth_date, community=community,
                    basis=basis, phone_hash=phone_hash)


def voter_register(*, cycle: Cycle, identity: Identity, channel: str = VotingChannel.ONLINE,
                   source: str = "", now: dt.datetime | None = None) -> Voter:
    """Return the cycle's voter for a checked identity, registering it once.

    A registration that has not voted yet follows the latest community and basis given.
    """
    now = now or timezone.now()
    age = _age_check(cycle, identity.birth_date, timezone.localdate(now))
    doc_hash, phone_hash, community, basis = (identity.doc_hash, identity.phone_hash,
                                              identity.community, identity.basis)
    voter, created = _register(cycle, doc_hash, phone_hash, phone_limit(cycle), {
        "doc_type": identity.doc_type, "birth_date": identity.birth_date, "age_band": age_band(age),
        "community": community, "basis": basis, "registered_channel": channel, "registered_at": now,
        # Kept on the person only (the first registration's): never on a ballot or participation.
        "source": (source or "")[:40],
    })
    # Until the first ballot, a registration is only a claim: the latest checked one counts
    # (nobody can pin someone else's document to the wrong community before they vote).
    if (not created and (voter.community_id, voter.basis) != (community.pk, basis)
            and not voter.participations.exists()):
        Voter.objects.filter(pk=voter.pk).update(community=community, basis=basis)
    return Voter.objects.select_related("community__street", "cycle").get(pk=voter.pk)


def phone_limit(cycle: Cycle) -> int:
    """How many voters one mobile number may confirm in the cycle (``max_voters_per_phone``)."""
    return max(1, int(cycle.config.get("max_voters_per_phone", MAX_VOTERS_PER_PHONE)))


def _phone_full(limit: int) -> ServiceError:
    return ServiceError(
        _("This mobile number has already confirmed %(max)d voters in this cycle: one phone may confirm "
          "at most %(max)d voters (a household sharing a phone). Use another mobile number, or vote at a "
          "polling point with your document.") % {"max": limit},
        field="phone", code="phone_limit")


def _register(cycle: Cycle, doc_hash: str, phone_hash: str, limit: int, fields: dict) -> tuple[Voter, bool]:
    """Return the document's voter (created if new), holding one of the phone's places.

    Two unique constraints decide races: (cycle, doc_hash) and (cycle, phone_hash, phone_slot).
    A request that loses either looks again, so concurrent requests never confirm more than
    ``limit`` voters behind one phone.
    """
    for _round in range(limit + 5):
        existing = Voter.objects.filter(cycle=cycle, doc_hash=doc_hash).first()
        if existing is not None and (not phone_hash or existing.phone_hash == phone_hash):
            return existing, False
        slot = None
        if phone_hash:
            taken = set(Voter.objects.filter(cycle=cycle, phone_hash=phone_hash)
                        .exclude(doc_hash=doc_hash).values_list("phone_slot", flat=True))
            slot = next((n for n in range(limit) if n not in taken), None)
            if slot is None:
                raise _phone_full(limit)
        try:
            with transaction.atomic():
                if existing is None:
                    return Voter.objects.create(cycle=cycle, doc_hash=doc_hash, phone_hash=phone_hash,
                                                phone_slot=slot, **fields), True
                Voter.objects.filter(pk=existing.pk).update(phone_hash=phone_hash, phone_slot=slot)
                return existing, False
        except IntegrityError:
            continue  # another request took the document or that place of the phone: look again
    raise ServiceError(_("Too many requests at once for this registration; try again."), code="busy")


def voter_identify(*, cycle: Cycle, doc_type: str, doc_number: str, community_id,
                   basis: str, birth_date: dt.date | None = None, phone: str = "",
                   channel: str = VotingChannel.ONLINE, now: dt.datetime | None = None,
                   register: bool = True) -> Voter | None:
    """Check eligibility and return the cycle's voter for this document (registering once).

    Only the document's keyed hash, the birth date, its age band and the phone's keyed hash
    are stored. With ``register=False`` only the checks run (the API stores nothing before
    the SMS code proves the phone).
    """
    identity = voter_check(cycle=cycle, doc_type=doc_type, doc_number=doc_number,
                           community_id=community_id, basis=basis, birth_date=birth_date,
                           phone=phone, now=now)
    if not register:
        return None
    return voter_register(cycle=cycle, identity=identity, channel=channel, now=now)


PENDING_TTL = dt.timedelta(minutes=10)


def _pending_key(token: str) -> str:
    return keyed_hash(token, "pending-vote")


def pending_votes_purge(*, now: dt.datetime | None = None) -> int:
    """Delete the step-1 rows whose 10 minutes are over; return how many went."""
    from civicbudget.voting.models import PendingVote

    deleted, _rows = PendingVote.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted


def pending_vote_start(*, cycle: Cycle, identity: Identity, now: dt.datetime | None = None) -> str:
    """Keep a checked step 1 server-side for 10 minutes; return the random token naming it.

    Each new step 1 also purges the expired rows, so abandoned ones do not outlive their
    10 minutes by more than the gap between two voters (and ``voting_purge_pending``).
    """
    from civicbudget.voting.models import PendingVote

    now = now or timezone.now()
    pending_votes_purge(now=now)
    token = secrets.token_urlsafe(32)
    PendingVote.objects.create(
        token_hash=_pending_key(token), cycle=cycle, doc_type=identity.doc_type,
        doc_hash=identity.doc_hash, birth_date=identity.birth_date, community=identity.community,
        basis=identity.basis, phone_hash=identity.phone_hash, expires_at=now + PENDING_TTL)
    return token


def pending_vote_get(*, cycle: Cycle, token: str, now: dt.datetime | None = None):
    """Return the unexpired step 1 a token names in this cycle, or None (an expired one is deleted)."""
    from civicbudget.voting.models import PendingVote

    now = now or timezone.now()
    if not token:
        return None
    pending = PendingVote.objects.select_related("community__street").filter(
        token_hash=_pending_key(token), cycle=cycle).first()
    if pending is not None and pending.expires_at <= now:
        pending.delete()
        return None
    return pending


def pending_vote_finish(*, cycle: Cycle, token: str, code: str, source: str = "",
                        now: dt.datetime | None = None) -> Voter | None:
    """Step 2: check the SMS code against the pending phone hash and register the voter.

    Returns None for a wrong or expired code (or step 1 gone); the step-1 row is deleted once
    the voter is registered.
    """
    now = now or timezone.now()
    pending = pending_vote_get(cycle=cycle, token=token, now=now)
    if pending is None or not otp_verify(phone_hash=pending.phone_hash, code=code, now=now):
        return None
    identity = Identity(doc_type=pending.doc_type, doc_hash=pending.doc_hash,
                        birth_date=pending.birth_date, community=pending.community,
                        basis=pending.basis, phone_hash=pending.phone_hash)
    voter = voter_register(cycle=cycle, identity=identity, channel=VotingChannel.ONLINE, source=source,
                           now=now)
    pending.delete()
    return voter


def _code_hash(phone_hash: str, code: str) -> str:
    return keyed_hash(f"{phone_hash}:{code}", "otp")


def otp_send(*, phone: str, cycle: Cycle | None = None, client: str = "",
             now: dt.datetime | None = None) -> str:
    """Text a 6-digit one-time code to a mobile number: at most 5 an hour per number, and,
    within a cycle, at most its ``sms_hourly_budget`` an hour in all (SMS pumping stops there
    and the operator is alerted). ``client`` is the requester's address
    (``civicbudget.clientaddr.client_address``): at most ``sms_per_client_per_hour`` from one,
    so one machine cannot text many numbers; it is kept only as a keyed hash.

    Returns the phone's keyed hash, which is all the code check needs: callers keep that,
    not the number.
    """
    from civicbudget import ratelimit

    now = now or timezone.now()
    try:
        normalized = canonical_phone(phone, mobile_only=True)
    except IdentifierError as exc:
        raise ServiceError(str(exc), field="phone") from None
    phone_hash = keyed_hash(normalized, "phone")
    hour_ago = now - dt.timedelta(hours=1)
    recent = OneTimeCode.objects.filter(phone_hash=phone_hash, created_at__gte=hour_ago).count()
    if recent >= OTP_PER_HOUR:
        raise RateLimited(_("Too many codes for this number; try again in an hour."), field="phone")
    if client:
        ratelimit.require(f"sms:{ratelimit.who('client', client)}", window=ratelimit.HOUR,
                          limit=ratelimit.limit_for("sms_per_client_per_hour"), now=now,
                          message=_("Too many codes were asked from this network in the last hour; "
                                    "try again later."))
    if cycle is not None:
        budget = sms_budget(cycle)
        sent = OneTimeCode.objects.filter(cycle=cycle, created_at__gte=hour_ago).count()
        if sent >= budget:
            _sms_budget_alert(cycle, budget, sent, now)
            raise RateLimited(_("Too many codes are being sent right now, so codes are paused for a while. "
                                 "Try again later, or vote at a polling point with your document."),
                               field="phone", code="sms_budget")
    code = f"{secrets.randbelow(1_000_000):06d}"
    otp = OneTimeCode.objects.create(phone_hash=phone_hash, code_hash=_code_hash(phone_hash, code),
                                     cycle=cycle, client_hash=keyed_hash(client, "ip") if client else "",
                                     created_at=now, expires_at=now + OTP_TTL)
    try:
        sms_send(normalized, _("Your civicbudget voting code is %(code)s (valid 10 minutes).") % {"code": code})
    except OSError:
        otp.delete()  # never sent: it must not count against the hourly limit, nor be guessed
        raise ServiceError(_("The code could not be sent by SMS now; try again later or vote at a polling point."),
                           field="phone", code="sms_unavailable") from None
    return phone_hash


def sms_budget(cycle: Cycle) -> int:
    """The cycle's hourly SMS budget (``sms_hourly_budget``)."""
    return max(0, int(cycle.config.get("sms_hourly_budget", SMS_HOURLY_BUDGET)))


SMS_BUDGET_ACTION = "sms_budget_exceeded"


def _sms_budget_alert(cycle: Cycle, budget: int, sent: int, now: dt.datetime) -> None:
    """Tell the operator once an hour: an audit row (shown in the back-office) and a warning
    in the log, neither naming a phone."""
    from civicbudget.audit.models import AuditEvent

    if AuditEvent.objects.filter(action=SMS_BUDGET_ACTION, object_type="cycles.cycle", object_id=str(cycle.pk),
                                 at__gte=now - dt.timedelta(hours=1)).exists():
        return
    logger.warning("cycle %s: hourly SMS budget of %d reached (%d codes in the last hour); "
                   "codes are paused", cycle.pk, budget, sent)
    audit_record(None, SMS_BUDGET_ACTION, cycle, outcome="denied", place=cycle.district,
                 after={"budget": budget, "sent_last_hour": sent},
                 message=f"hourly SMS budget {budget} reached; codes paused")


def otp_verify(*, code: str, phone: str = "", phone_hash: str = "",
               now: dt.datetime | None = None) -> bool:
    """Return True once for a valid, fresh code; count failed attempts.

    The phone is given as the number (API) or as its keyed hash (the web's pending step 1,
    which does not keep the number).
    """
    now = now or timezone.now()
    if not phone_hash:
        try:
            phone_hash = keyed_hash(canonical_phone(phone, mobile_only=True), "phone")
        except IdentifierError:
            return False
    with transaction.atomic():
        otp = (OneTimeCode.objects.select_for_update()
               .filter(phone_hash=phone_hash, used_at__isnull=True, expires_at__gt=now)
               .order_by("-created_at").first())
        if otp is None or otp.attempts >= OTP_MAX_ATTEMPTS:
            return False
        if not hmac.compare_digest(otp.code_hash, _code_hash(phone_hash, (code or "").strip())):
            OneTimeCode.objects.filter(pk=otp.pk).update(attempts=otp.attempts + 1)
            return False
        OneTimeCode.objects.filter(pk=otp.pk).update(used_at=now)
    return True


def _already(voter: Voter, scope: VotingScope) -> AlreadyVoted:
    return _already_by_id(voter.pk, scope.pk)


def _already_by_id(voter_id: int, scope_id: int) -> AlreadyVoted:
    first = Participation.objects.filter(voter_id=voter_id, scope_id=scope_id).first()
    when = first.day.isoformat() if first else "?"
    channel = first.get_channel_display() if first else "?"
    return AlreadyVoted(_("Already voted on %(when)s via %(channel)s.") % {"when": when, "channel": channel})


@dataclass(frozen=True)
class Cast:
    receipt: str
    scope_key: str
    repeated: bool  # a retried submission: the first receipt, nothing new logged


def ballot_cast(*, voter: Voter, scope: VotingScope, choices, token: str = "",
                now: dt.datetime | None = None) -> Cast:
    """Cast a voter's online ballot in one scope; return the receipt (the log entry's hash).

    ``token`` identifies the submission (the form or client sends it): sending the same
    token again returns the first receipt instead of an error.
    """
    if scope.cycle_id != voter.cycle_id:
        raise ServiceError(_("This ballot is not one of yours."), field="scope", code="wrong_scope")
    return ballot_cast_by_id(voter_id=voter.pk, cycle_id=voter.cycle_id, scope_id=scope.pk,
                             choices=choices, token=token, now=now)


def _vote_running(cycle: str) -> str:
    """SQL: the cycle whose id is ``cycle`` (a placeholder or a column) is in its vote."""
    # ``cycle`` is a placeholder or a column name written in this module, never input.
    return (f"EXISTS (SELECT 1 FROM {Stage._meta.db_table} WHERE cycle_id = {cycle} "  # noqa: S608
            "AND kind = 'vote' AND started_at IS NOT NULL AND finished_at IS NULL)")


@cache
def _cast_sql() -> tuple[str, str, str, str]:
    voter, community = Voter._meta.db_table, Community._meta.db_table
    return (
        # Everything the checks need in one read: the voter's community and street, the
        # scope asked for (if it is this cycle's), whether the cycle's vote is running, and
        # the batch settings and state.
        f"SELECT c.id, c.street_id, s.key, s.spec, {_vote_running('v.cycle_id')}, "  # noqa: S608
        f"y.config, b.pending_since FROM {voter} v JOIN {community} c ON c.id = v.community_id "
        f"JOIN {Cycle._meta.db_table} y ON y.id = v.cycle_id "
        f"LEFT JOIN {VotingScope._meta.db_table} s ON s.id = %s AND s.cycle_id = v.cycle_id "
        f"LEFT JOIN {BallotLog._meta.db_table} b ON b.cycle_id = v.cycle_id "
        "WHERE v.id = %s AND v.cycle_id = %s",
        # Only while the vote runs, checked in the write's own transaction: a ballot cannot
        # slip in after the count began.
        f"INSERT INTO {Participation._meta.db_table} "  # noqa: S608
        "(cycle_id, voter_id, scope_id, channel, station_id, day, officer_id) "
        f"SELECT %s, %s, %s, %s, NULL, %s, NULL WHERE {_vote_running('%s')}",
        f"INSERT INTO {PendingBallot._meta.db_table} "  # noqa: S608
        "(leaf, cycle_id, scope_id, channel, station_id, data) VALUES (%s, %s, %s, %s, NULL, %s)",
        f"INSERT INTO {Submission._meta.db_table} (key, receipt) VALUES (%s, %s)",  # noqa: S608
    )


def _seal(receipt: str, voter_id: int, scope_id: int, token: str) -> str:
    """XOR a receipt with a pad only the submission's token (never stored) can rebuild;
    sealing twice opens it."""
    pad = keyed_hash(f"{voter_id}:{scope_id}:{token}", "submission-receipt")
    return f"{int(receipt, 16) ^ int(pad, 16):064x}"


@cache
def _waiting_sql() -> tuple[str, str]:
    pending, log = PendingBallot._meta.db_table, BallotLog._meta.db_table
    return (
        f"SELECT count(*) FROM {pending} WHERE cycle_id = %s",  # noqa: S608
        # Only the first ballot of a batch writes (and so locks) the log row.
        f"UPDATE {log} SET pending_since = %s WHERE cycle_id = %s AND pending_since IS NULL",  # noqa: S608
    )


@cache
def _cast_write_sql_postgresql() -> str:
    participation, log = Participation._meta.db_table, BallotLog._meta.db_table
    pending, submission = PendingBallot._meta.db_table, Submission._meta.db_table
    # One statement, so one implicit transaction: the participation (the one-vote guard), the
    # ballot in the open batch and the submission's receipt, and how many ballots wait now
    # (the snapshot's count, plus this one). No lock on the log: batches are written apart.
    # Nothing is written unless the cycle's vote is running and its log exists.
    return (
        f"WITH p AS (INSERT INTO {participation} "  # noqa: S608
        "(cycle_id, voter_id, scope_id, channel, station_id, day, officer_id) "
        "SELECT %(cycle)s, %(voter)s, %(scope)s, %(channel)s, NULL, %(day)s, NULL "
        f"WHERE EXISTS (SELECT 1 FROM {log} WHERE cycle_id = %(cycle)s) "
        f"AND {_vote_running('%(cycle)s')} RETURNING cycle_id), "
        f"e AS (INSERT INTO {pending} (leaf, cycle_id, scope_id, channel, station_id, data) "
        "SELECT %(leaf)s, cycle_id, %(scope)s, %(channel)s, NULL, %(data)s FROM p RETURNING leaf), "
        f"s AS (INSERT INTO {submission} (key, receipt) "
        "SELECT %(key)s, %(sealed)s FROM e WHERE %(key)s <> '') "
        f"SELECT leaf, (SELECT count(*) FROM {pending} WHERE cycle_id = %(cycle)s) + 1 FROM e"
    )


def ballot_cast_by_id(*, voter_id: int, cycle_id: int, scope_id: int, choices, token: str = "",
                      now: dt.datetime | None = None) -> Cast:
    """:func:`ballot_cast` from the ids a voter token and a request carry.

    Every online ballot passes here, so it is written for the hot path: one read, then one
    write (a single statement on PostgreSQL, a transaction of plain statements on SQLite);
    the ORM is used only to explain a refusal. The ballot joins the open batch; the batch
    is written to the log (shuffled) once it is due, by whichever ballot makes it due.
    """
    now = now or timezone.now()
    read, insert_participation, insert_pending, insert_submission = _cast_sql()
    with connection.cursor() as cursor:
        cursor.execute(read, [scope_id, voter_id, cycle_id])
        row = cursor.fetchone()
    if row is None:
        raise NotFound(_("No such voter in this cycle."))
    community_id, street_id, scope_key, spec_data, is_open, config, since = row
    if scope_key is None:
        raise NotFound(_("No ballot %(id)s in this cycle.") % {"id": scope_id})
    if not is_open:
        _vote_open(Cycle.objects.prefetch_related("stages").get(pk=cycle_id))
    # the cycle's division ballot is every voter's (the join above keeps it to their cycle)
    if scope_key not in scope_keys(community_id, street_id) and not division.is_division(scope_key):
        raise ServiceError(_("This ballot is not one of yours."), field="scope", code="wrong_scope")
    spec = logstore.scope_spec(scope_id, spec_data)
    _normalize_spec_choices(spec, choices)
    division.choices_check(scope_key, choices)
    key = keyed_hash(f"{voter_id}:{scope_id}:{token}", "submission") if token else ""
    day = timezone.localdate(now)
    channel = VotingChannel.ONLINE.value
    count_waiting, mark_batch = _waiting_sql()
    try:
        staged = logstore.stage_entry(cycle_id, spec, choices, channel, home=f"community:{community_id}")
        if connection.vendor == "postgresql":
            params = {"cycle": cycle_id, "voter": voter_id, "scope": scope_id, "channel": channel,
                      "day": day, "key": key, "leaf": staged.leaf, "data": staged.data,
                      "sealed": _seal(staged.leaf, voter_id, scope_id, token)}
            # Inside a caller's transaction, a savepoint keeps a refusal from spoiling it.
            with (transaction.atomic() if connection.in_atomic_block else nullcontext(),
                  connection.cursor() as cursor):
                cursor.execute(_cast_write_sql_postgresql(), params)
                written = cursor.fetchone()
            if written is None:  # voting closed meanwhile, or the cycle has no log
                _vote_open(Cycle.objects.prefetch_related("stages").get(pk=cycle_id))
                raise RuntimeError(f"cycle {cycle_id} has no ballot log: open its scopes first")
            waiting = written[1]
        else:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(insert_participation,
                               [cycle_id, voter_id, scope_id, channel, day, cycle_id])
                if cursor.rowcount != 1:  # voting closed since the read: nothing is written
                    _vote_open(Cycle.objects.prefetch_related("stages").get(pk=cycle_id))
                    raise RuntimeError(f"cycle {cycle_id}: voting closed while a ballot was cast")
                cursor.execute(insert_pending, [staged.leaf, cycle_id, scope_id, channel, staged.data])
                if key:
                    cursor.execute(insert_submission,
                                   [key, _seal(staged.leaf, voter_id, scope_id, token)])
                cursor.execute(count_waiting, [cycle_id])
                waiting = cursor.fetchone()[0]
    except IntegrityError:
        # The voter has voted in this scope: a retry of the same submission gets its receipt.
        if key and (earlier := Submission.objects.filter(key=key).first()):
            return Cast(_seal(earlier.receipt, voter_id, scope_id, token), scope_key, True)
        raise _already_by_id(voter_id, scope_id) from None
    except EntryError as exc:
        raise ServiceError(_("The ballot is not valid: %(why)s.") % {"why": exc},
                           field="choices", code="invalid_ballot") from None
    if isinstance(since, str):
        since = parse_datetime(since)
    if since is not None and timezone.is_naive(since):  # SQLite's raw rows: naive UTC
        since = timezone.make_aware(since, dt.UTC)
    if since is None:
        with connection.cursor() as cursor:
            cursor.execute(mark_batch, [connection.ops.adapt_datetimefield_value(now), cycle_id])
        since = now
    config = json.loads(config) if isinstance(config, str) else config
    logstore.maybe_flush(cycle_id, waiting, since, config, now)
    return Cast(staged.leaf, scope_key, False)


def station_create(*, actor, cycle: Cycle, community: Community, name: str,
                   kind: str = VotingChannel.POLLING) -> PollingStation:
    """Open a polling point, mobile box or school session in a community."""
    permission_require(actor, "vote", community, cycle)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ServiceError(_("Name the polling point (1 to 100 characters)."), field="name")
    if kind not in {VotingChannel.POLLING, VotingChannel.MOBILE_BOX, VotingChannel.SCHOOL}:
        raise ServiceError(_("Unknown kind of polling point."), field="kind")
    station, created = PollingStation.objects.get_or_create(cycle=cycle, community=community,
                                                            name=name, defaults={"kind": kind})
    if created:
        audit_record(actor, "station_create", station, after={"name": name, "kind": kind},
                     place=community)
    return station


def _station_serves(officer, station: PollingStation, community: Community, action: str) -> None:
    """Refuse (and audit) acting at a polling point for a community it does not serve.

    A polling point serves exactly its own community: its box holds that community's and
    its street's ballots, so a resident of another community (even of the same street)
    could not have their community ballot entered from it, and checking them in would
    only mark them as having voted.
    """
    if community.pk == station.community_id:
        return
    reason = _("%(station)s serves %(served)s, not %(community)s: residents of %(community)s vote at "
               "a polling point of their own community.") % {
        "station": station.name, "served": station.community.name, "community": community.name}
    audit_record(officer, action, station, outcome="denied", place=station.community, message=reason)
    raise PermissionDenied(reason)


@dataclass(frozen=True)
class CheckIn:
    """What a desk check-in did: ballots to hand out, and those the voter had already cast."""

    issued: list[Participation]
    # (scope, channel code, local day): never the time, which could join a voter to a ballot.
    already: list[tuple[VotingScope, str, dt.date]]


def _cast_before(scope: VotingScope, first: Participation) -> tuple[VotingScope, str, dt.date]:
    return scope, first.channel, first.day


def already_cast_text(already) -> str:
    labels = dict(VotingChannel.choices)
    return "; ".join(_("%(scope)s already cast on %(day)s via %(channel)s")
                     % {"scope": scope.title, "day": day.isoformat(), "channel": labels.get(channel, channel)}
                     for scope, channel, day in already)


def paper_scopes(voter: Voter) -> list[VotingScope]:
    """The ballots a polling point hands a voter: their community's and their street's.

    The theme division is cast online only (no paper sheet carries it): a check-in leaves it
    open for the voter on the vote page.
    """
    return [s for s in voter_scopes(voter) if not division.is_division(s.key)]


def poll_check_in(*, officer, station: PollingStation, doc_type: str, doc_number: str,
                  community_id, basis: str, birth_date: dt.date | None = None,
                  now: dt.datetime | None = None) -> CheckIn:
    """Check a voter in on the poll book and hand out the paper ballots they have not cast yet.

    A ballot the voter cast already (online, or at another box) is named with its channel
    and day; only when every ballot was cast is the check-in refused.
    """
    cycle = Cycle.objects.prefetch_related("stages").get(pk=station.cycle_id)
    permission_require(officer, "vote", station.community, cycle)
    _vote_open(cycle)
    now = now or timezone.now()
    identity = voter_check(cycle=cycle, doc_type=doc_type, doc_number=doc_number,
                           community_id=community_id, basis=basis, birth_date=birth_date, now=now)
    _station_serves(officer, station, identity.community, "poll_check_in")
    voter = voter_register(cycle=cycle, identity=identity, channel=station.kind, now=now)
    # A voter who has voted keeps the community they voted in, whatever they claim now.
    _station_serves(officer, station, voter.community, "poll_check_in")
    scopes = paper_scopes(voter)
    if not scopes:
        raise ServiceError(_("No ballot is open for this voter's community."))
    taken = {p.scope_id: p for p in Participation.objects.filter(voter=voter, scope__in=scopes)}
    issued = []
    with transaction.atomic():
        for scope in scopes:
            if scope.pk in taken:
                continue
            try:
                with transaction.atomic():
                    issued.append(Participation.objects.create(
                        cycle=cycle, voter=voter, scope=scope, channel=station.kind, station=station,
                        officer=officer, day=timezone.localdate(now)))
            except IntegrityError:  # cast elsewhere a moment ago
                taken[scope.pk] = Participation.objects.get(voter=voter, scope=scope)
        already = [_cast_before(scope, taken[scope.pk]) for scope in scopes if scope.pk in taken]
        if issued:
            audit_record(officer, "poll_check_in", station,
                         after={"scopes": [p.scope.key for p in issued],
                                "already_cast": [scope.key for scope, _c, _d in already]},
                         place=station.community)
    if not issued:
        raise AlreadyVoted(_("Every ballot of this voter was cast already: %(what)s.")
                           % {"what": already_cast_text(already)})
    return CheckIn(issued, already)


def _normalize_choices(scope: VotingScope, choices) -> list:
    return _normalize_spec_choices(logstore.scope_spec(scope.pk, scope.spec), choices)


def _normalize_spec_choices(spec, choices) -> list:
    if spec.vote_type in ("cumulative", "scoring"):
        ballot = [[pid, int(pts)] for pid, pts in sorted(dict(choices).items())]
    elif spec.vote_type == "ordinal":
        ballot = list(choices)
    else:
        ballot = sorted(str(c) for c in choices)
    try:
        validate_ballot(spec, ballot)
    except EntryError as exc:
        raise ServiceError(_("The ballot is not valid: %(why)s.") % {"why": exc}, field="choices",
                           code="invalid_ballot") from None
    return ballot


def paper_ballot_enter(*, officer, station: PollingStation, scope: VotingScope, number: int,
                       choices, now: dt.datetime | None = None) -> PaperEntry:
    """Record one officer's reading of paper ballot ``number`` from a station's box.

    The first reading waits; a second reading by another officer that matches logs the
    ballot; one that differs sends both to the review queue.
    """
    cycle = Cycle.objects.prefetch_related("stages").get(pk=station.cycle_id)
    permission_require(officer, "vote", station.community, cycle)
    if scope.cycle_id != cycle.pk or scope.key not in scope_keys(station.community_id,
                                                                 station.community.street_id):
        # Another community's ballot entered from this box: refused like any act for a
        # community the polling point does not serve, and audited.
        reason = _("This box does not hold ballots of %(scope)s.") % {"scope": scope}
        audit_record(officer, "paper_ballot_enter", station, outcome="denied", place=station.community,
                     message=reason)
        raise PermissionDenied(reason)
    # Machine-read sheets are numbered from 100,001 in their box (paper.models): typed
    # numbers stay below, so the audit names every sheet of a box once.
    if not isinstance(number, int) or not 0 < number < 100_000:
        raise ServiceError(_("Give the ballot's number (1, 2, 3, ... up to 99,999)."), field="number")
    ballot = _normalize_choices(scope, choices)
    now = now or timezone.now()
    with transaction.atomic():
        readings = list(PaperEntry.objects.select_for_update()
                        .filter(station=station, scope=scope, number=number))
        if any(r.officer_id == officer.pk for r in readings):
            raise ServiceError(_("You entered ballot %(n)d already; a second officer enters it again.")
                               % {"n": number}, field="number", code="same_officer")
        if any(r.state in (PaperEntry.State.MATCHED, PaperEntry.State.RESOLVED) for r in readings):
            raise ServiceError(_("Ballot %(n)d is logged already.") % {"n": number}, field="number",
                               code="duplicate")
        if any(r.state == PaperEntry.State.CONFLICT for r in readings):
            raise ServiceError(_("Ballot %(n)d is in the review queue.") % {"n": number}, field="number")
        reading = PaperEntry.objects.create(station=station, scope=scope, number=number,
                                            choices=ballot, officer=officer, at=now)
        if readings:
            first = readings[0]
            if first.choices == ballot:
                _log_paper(station, scope, ballot, [first, reading], PaperEntry.State.MATCHED)
            else:
                PaperEntry.objects.filter(pk__in=[first.pk, reading.pk]).update(
                    state=PaperEntry.State.CONFLICT)
        audit_record(officer, "paper_ballot_enter", station,
                     after={"scope": scope.key, "number": number}, place=station.community)
    reading.refresh_from_db()
    return reading


def _log_paper(station, scope, ballot, readings, state) -> str:
    issued = Participation.objects.filter(station=station, scope=scope).count()
    logged = (LogEntry.objects.filter(station=station, scope=scope).count()
              + PendingBallot.objects.filter(station=station, scope=scope).count())
    if logged >= issued:
        raise ServiceError(_("The box would hold more ballots (%(n)d) than were handed out (%(issued)d).")
                           % {"n": logged + 1, "issued": issued}, code="over_issued")
    logstore.log_for(station.cycle)
    choices = {pid: pts for pid, pts in ballot} if ballot and isinstance(ballot[0], list) else ballot
    # Paper ballots join the same shuffled batches as online ones.
    staged = logstore.stage_entry(scope.cycle_id, logstore.scope_spec(scope.pk, scope.spec), choices,
                                  station.kind, home=f"community:{station.community_id}")
    logstore.stage(scope.cycle_id, scope.pk, staged, station.kind, station.pk)
    PaperEntry.objects.filter(pk__in=[r.pk for r in readings]).update(state=state, receipt=staged.leaf)
    transaction.on_commit(lambda: logstore.maybe_flush(
        scope.cycle_id, PendingBallot.objects.filter(cycle_id=scope.cycle_id).count(),
        BallotLog.objects.values_list("pending_since", flat=True).get(cycle_id=scope.cycle_id),
        Cycle.objects.values_list("config", flat=True).get(pk=scope.cycle_id)))
    return staged.leaf


def paper_sheet_log(*, station: PollingStation, scope: VotingScope, choices) -> str:
    """Log one machine-read (or adjudicated) paper sheet as a ballot of the station's box.

    The same path as typed ballots (checked against the rule, refused beyond the ballots
    handed out, staged in the shuffled batches); return the receipt.
    """
    if scope.cycle_id != station.cycle_id or scope.key not in scope_keys(station.community_id,
                                                                         station.community.street_id):
        raise ServiceError(_("This box does not hold ballots of %(scope)s.") % {"scope": scope},
                           code="wrong_scope")
    ballot = _normalize_choices(scope, choices)
    with transaction.atomic():
        return _log_paper(station, scope, ballot, [], PaperEntry.State.MATCHED)


def paper_conflict_resolve(*, officer, station: PollingStation, scope: VotingScope, number: int,
                           choices) -> PaperEntry:
    """Settle a conflict: a third officer reads the ballot; their reading is logged."""
    cycle = Cycle.objects.prefetch_related("stages").get(pk=station.cycle_id)
    permission_require(officer, "vote", station.community, cycle)
    ballot = _normalize_choices(scope, choices)
    with transaction.atomic():
        readings = list(PaperEntry.objects.select_for_update()
                        .filter(station=station, scope=scope, number=number))
        if not any(r.state == PaperEntry.State.CONFLICT for r in readings):
            raise ServiceError(_("Ballot %(n)d is not in the review queue.") % {"n": number})
        if any(r.officer_id == officer.pk for r in readings):
            raise ServiceError(_("Review needs an officer who did not enter this ballot."),
                               code="same_officer")
        reading = PaperEntry.objects.create(station=station, scope=scope, number=number,
                                            choices=ballot, officer=officer)
        _log_paper(station, scope, ballot, [*readings, reading], PaperEntry.State.RESOLVED)
        audit_record(officer, "paper_conflict_resolve", station,
                     after={"scope": scope.key, "number": number}, place=station.community)
    reading.refresh_from_db()
    return reading


def station_observers_record(*, officer, station: PollingStation, observers: str) -> PollingStation:
    """Record who watched the box being counted (names, one per line), for the published count."""
    permission_require(officer, "vote", station.community, Cycle.objects.prefetch_related("stages")
                       .get(pk=station.cycle_id))
    names = [n.strip() for n in (observers or "").replace("，", "\n").replace(",", "\n").splitlines()
             if n.strip()]
    if not names:
        raise ServiceError(_("Name at least one observer of the count."), field="observers")
    if len(names) > 50 or any(len(n) > 50 for n in names):
        raise ServiceError(_("At most 50 observers, each name up to 50 characters."), field="observers")
    before = station.count_observers
    station.count_observers = "\n".join(names)
    station.save(update_fields=["count_observers"])
    audit_record(officer, "station_observers_record", station, before={"observers": before},
                 after={"observers": station.count_observers}, place=station.community)
    return station


OFFLINE_ALIASES = {
    "client_id": "client_id", "记录编号": "client_id", "doc_type": "doc_type", "证件类型": "doc_type",
    "doc_number": "doc_number", "证件号码": "doc_number", "birth_date": "birth_date",
    "出生日期": "birth_date", "community": "community", "社区": "community", "basis": "basis",
    "身份": "basis", "at": "at", "签到时间": "at",
}


@dataclass
class SyncReport:
    accepted: int = 0
    conflicts: int = 0
    already_synced: int = 0
    quarantined: int = 0
    # reason code -> count, for the officer's message and the audit trail
    reasons: dict = field(default_factory=dict)

    def reasons_text(self) -> str:
        from civicbudget.voting.models import OfflineCheckIn

        labels = dict(OfflineCheckIn.Reason.choices)
        return ", ".join(f"{n} {labels.get(code, code)}" for code, n in sorted(self.reasons.items()))


#: How far a box's clock may run ahead of the server's (or behind, against its previous sync).
CLOCK_SKEW = dt.timedelta(minutes=5)


def _vote_window(cycle: Cycle) -> tuple[dt.datetime | None, dt.datetime | None]:
    """When the cycle's running vote started and (if it has) finished, from the stage stamps."""
    stage = cycle.current_stage
    if stage is None or "vote" not in stage.allowed_actions:
        stage = next((s for s in reversed(cycle.ordered_stages())
                      if "vote" in s.allowed_actions and s.started_at), None)
    # The stamps, not the planned window: voting is open from the moment the stage started
    # until it finished (while it runs, "not in the future" bounds the end), however late
    # against the plan that was.
    return (stage.started_at, stage.finished_at) if stage else (None, None)


def _time_problem(at: dt.datetime, *, window, previous_sync, now: dt.datetime) -> str:
    from civicbudget.voting.models import OfflineCheckIn

    start, end = window
    if at > now + CLOCK_SKEW:
        return OfflineCheckIn.Reason.FUTURE
    if start is None or at < start:
        return OfflineCheckIn.Reason.BEFORE_WINDOW
    if end is not None and at > end:
        return OfflineCheckIn.Reason.AFTER_WINDOW
    if previous_sync is not None and at < previous_sync - CLOCK_SKEW:
        return OfflineCheckIn.Reason.BEFORE_LAST_SYNC
    return ""


def _offline_participate(*, cycle, station, officer, voter, at, check_in) -> bool:
    """Hand out a synced check-in's ballots; on a ballot cast meanwhile make it a conflict.

    Returns True when the ballots were handed out.
    """
    from civicbudget.voting.models import OfflineCheckIn

    scopes = paper_scopes(voter)
    try:
        with transaction.atomic():
            for scope in scopes:
                Participation.objects.create(cycle=cycle, voter=voter, scope=scope, channel=station.kind,
                                             station=station, officer=officer,
                                             day=timezone.localdate(at))
            check_in.voter, check_in.state = voter, OfflineCheckIn.State.ACCEPTED
            check_in.save()
        return True
    except IntegrityError:
        first = Participation.objects.filter(voter=voter, scope__in=scopes).order_by("day").first()
        check_in.voter, check_in.state = voter, OfflineCheckIn.State.CONFLICT
        # The day, never the time: the conflict note must not help join a voter to a ballot.
        check_in.conflict_with = (f"{first.get_channel_display()} {first.day:%Y-%m-%d}"
                                  if first else "")
        check_in.save()
        return False


def station_offline_sync(*, officer, station: PollingStation, data: bytes, filename: str,
                         now: dt.datetime | None = None) -> SyncReport:
    """Sync a box's offline poll book (CSV/XLSX): check-ins become participations at their
    own time; a voter who voted meanwhile is a conflict for the review queue.

    The file is checked whole first (a malformed row rejects it all, with its line and
    field); records already synced (same ``client_id``) are skipped, so syncing twice adds
    nothing. A well-formed record that fails a check is quarantined with its reason, for an
    officer to accept or reject: a time outside the voting stage's window, more than
    ``CLOCK_SKEW`` in the future, or before the box's previous sync; a community the polling
    point does not serve (audited as a refusal); a voter under age on the day of a time that
    passed those checks (the age is never taken on a time that did not).
    """
    from civicbudget.errors import ImportRejected
    from civicbudget.tabular import read_table
    from civicbudget.voting.models import OfflineCheckIn

    now = now or timezone.now()
    cycle = Cycle.objects.prefetch_related("stages").get(pk=station.cycle_id)
    permission_require(officer, "vote", station.community, cycle)
    table = read_table(data, filename, OFFLINE_ALIASES)
    missing = [c for c in ("client_id", "doc_type", "doc_number", "community", "basis", "at")
               if c not in table.headers]
    if missing:
        raise ImportRejected(_("The poll book lacks the column(s): %(cols)s.") % {"cols": ", ".join(missing)})
    # One transaction: a rejected poll book leaves no trace, not even a voter registration.
    with transaction.atomic():
        station = PollingStation.objects.select_for_update().select_related("community").get(pk=station.pk)
        communities = {c.name: c for c in cycle.communities.all()}
        rows, errors, seen = [], [], set()
        for line, row in table.rows:
            client_id = row.get("client_id", "")[:64]
            if not client_id or client_id in seen:
                errors.append({"line": line, "field": "client_id",
                               "message": _("each record needs its own client_id")})
                continue
            seen.add(client_id)
            try:
                at = dt.datetime.fromisoformat(row.get("at", ""))
                if timezone.is_naive(at):
                    at = timezone.make_aware(at)
            except ValueError:
                errors.append({"line": line, "field": "at", "message": _("not a date and time (YYYY-MM-DD HH:MM)")})
                continue
            community = communities.get(row.get("community", ""))
            if community is None:
                errors.append({"line": line, "field": "community", "message": _("not a community of this cycle")})
                continue
            try:
                birth = dt.date.fromisoformat(row["birth_date"]) if row.get("birth_date") else None
                identity = voter_check(cycle=cycle, doc_type=row.get("doc_type", ""),
                                       doc_number=row.get("doc_number", ""), community_id=community.pk,
                                       basis=row.get("basis", ""), birth_date=birth, check_age=False)
            except ValueError:
                errors.append({"line": line, "field": "birth_date", "message": _("not a date (YYYY-MM-DD)")})
                continue
            except ServiceError as exc:
                errors.append({"line": line, "field": exc.field or "", "message": exc.message})
                continue
            rows.append((client_id, identity, at, line))
        if errors:
            raise ImportRejected(_("Nothing was synced: %(count)d problem(s) in the poll book.")
                                 % {"count": len(errors)}, details=errors)
        report = SyncReport()
        done = set(OfflineCheckIn.objects.filter(station=station).values_list("client_id", flat=True))
        window, previous_sync = _vote_window(cycle), station.last_synced_at
        for client_id, identity, at, line in sorted(rows, key=lambda r: r[2]):
            if client_id in done:
                report.already_synced += 1
                continue
            check_in = OfflineCheckIn(
                station=station, client_id=client_id, checked_in_at=at, synced_by=officer, synced_at=now,
                doc_type=identity.doc_type, doc_hash=identity.doc_hash, birth_date=identity.birth_date,
                community=identity.community, basis=identity.basis)
            reason = ""
            if identity.community.pk != station.community_id:
                reason = OfflineCheckIn.Reason.NOT_SERVED
                audit_record(officer, "station_offline_sync", station, outcome="denied", place=station.community,
                             message=_("Line %(line)d: %(station)s does not serve %(community)s.")
                             % {"line": line, "station": station.name, "community": identity.community.name})
            else:
                reason = _time_problem(at, window=window, previous_sync=previous_sync, now=now)
            if not reason:
                try:  # only now is the time trusted enough to take the age on its day
                    _age_check(cycle, identity.birth_date, timezone.localdate(at))
                except ServiceError:
                    reason = OfflineCheckIn.Reason.TOO_YOUNG
            if reason:
                check_in.state, check_in.reason = OfflineCheckIn.State.QUARANTINED, reason
                check_in.save()
                report.quarantined += 1
                report.reasons[str(reason)] = report.reasons.get(str(reason), 0) + 1
                continue
            voter = voter_register(cycle=cycle, identity=identity, channel=station.kind, now=at)
            if _offline_participate(cycle=cycle, station=station, officer=officer, voter=voter, at=at,
                                    check_in=check_in):
                report.accepted += 1
            else:
                report.conflicts += 1
        PollingStation.objects.filter(pk=station.pk).update(last_synced_at=now)
        audit_record(officer, "station_offline_sync", station, after=report.__dict__, place=station.community,
                     message=filename[:200])
    return report


def offline_quarantine_decide(*, officer, check_in, accept: bool, note: str,
                              now: dt.datetime | None = None):
    """An officer's decision on a quarantined check-in: reject it, or accept it.

    Accepting hands out the ballots if that is still possible (a ballot cast meanwhile makes
    it a conflict, as at sync). The time used is the recorded one brought into the voting
    window (never later than now), and the age is checked on that day. A check-in for a
    community the polling point does not serve cannot be accepted here. Like conflicts, it
    is decided by an officer who did not sync the poll book.
    """
    from civicbudget.voting.models import OfflineCheckIn

    now = now or timezone.now()
    station = PollingStation.objects.select_related("community__street").get(pk=check_in.station_id)
    cycle = Cycle.objects.prefetch_related("stages").get(pk=station.cycle_id)
    permission_require(officer, "vote", station.community, cycle)
    if check_in.state != OfflineCheckIn.State.QUARANTINED:
        raise ServiceError(_("This check-in is not in quarantine."))
    if check_in.synced_by_id == officer.pk:
        raise ServiceError(_("Review needs an officer who did not sync this poll book."), code="same_officer")
    text = (note or "").strip()
    if not text or len(text) > 1000:
        raise ServiceError(_("Say why (1 to 1,000 characters)."), field="note")
    if accept:
        _station_serves(officer, station, check_in.community, "offline_quarantine_decide")
        start, end = _vote_window(cycle)
        at = min(check_in.checked_in_at, end or now, now)
        at = max(at, start) if start else at
        identity = Identity(doc_type=check_in.doc_type, doc_hash=check_in.doc_hash,
                            birth_date=check_in.birth_date, community=check_in.community,
                            basis=check_in.basis)
        with transaction.atomic():
            try:
                voter = voter_register(cycle=cycle, identity=identity, channel=station.kind, now=at)
            except ServiceError as exc:
                raise ServiceError(_("It cannot be accepted: %(why)s Reject it.") % {"why": exc.message},
                                   code=exc.code) from None
            check_in.resolution, check_in.resolved_by = text, officer
            handed = _offline_participate(cycle=cycle, station=station, officer=officer, voter=voter,
                                          at=at, check_in=check_in)
            audit_record(officer, "offline_quarantine_decide", station, place=station.community,
                         after={"check_in": check_in.pk, "decision": "accept", "reason": check_in.reason,
                                "result": "accepted" if handed else "conflict", "note": text})
    else:
        check_in.state, check_in.resolution, check_in.resolved_by = OfflineCheckIn.State.REJECTED, text, officer
        check_in.save(update_fields=["state", "resolution", "resolved_by"])
        audit_record(officer, "offline_quarantine_decide", station, place=station.community,
                     after={"check_in": check_in.pk, "decision": "reject", "reason": check_in.reason,
                            "note": text})
    return check_in


def offline_conflict_resolve(*, officer, check_in, resolution: str):
    """Record how a reviewer settled an offline conflict (e.g. one ballot set aside unopened)."""
    from civicbudget.voting.models import OfflineCheckIn

    station = check_in.station
    permission_require(officer, "vote", station.community,
                       Cycle.objects.prefetch_related("stages").get(pk=station.cycle_id))
    if check_in.state != OfflineCheckIn.State.CONFLICT:
        raise ServiceError(_("This check-in is not in the review queue."))
    if check_in.synced_by_id == officer.pk:
        raise ServiceError(_("Review needs an officer who did not sync this poll book."), code="same_officer")
    text = (resolution or "").strip()
    if not text or len(text) > 1000:
        raise ServiceError(_("Say how the conflict was settled (1 to 1,000 characters)."), field="resolution")
    check_in.state, check_in.resolution, check_in.resolved_by = OfflineCheckIn.State.RESOLVED, text, officer
    check_in.save(update_fields=["state", "resolution", "resolved_by"])
    audit_record(officer, "offline_conflict_resolve", station, after={"check_in": check_in.pk, "resolution": text},
                 place=station.community)
    return check_in


def scope_open(*, cycle: Cycle, key: str, title: str, spec: dict, street=None,
               community=None) -> VotingScope:
    """Freeze one ballot for voting (called when the voting stage opens)."""
    spec_obj = logstore.spec_from_json(spec)
    spec_obj.check()
    if spec_obj.scope != key:
        raise ServiceError(f"scope key {key} differs from the spec's {spec_obj.scope}")
    scope, _created = VotingScope.objects.get_or_create(cycle=cycle, key=key, defaults={
        "title": title, "street": street,
        # a division ballot keeps its portioning rule beside the ledger's spec
        "spec": {**logstore.spec_to_json(spec_obj), **({"division": spec["division"]} if "division" in spec else {})},
        "community": community})
    logstore.log_for(cycle)
    return scope


def results_count(*, cycle: Cycle, observers: str = "", now: dt.datetime | None = None) -> list[ScopeResult]:
    """Tally every scope of the cycle with its rule and store the results (once)."""
    now = now or timezone.now()
    log = logstore.log_for(cycle)
    # Whatever still waits in the open batch is written before anything is counted.
    logstore.batch_flush(cycle.pk, now=now, force=True)
    results = []
    entries_by_scope: dict[int, list[bytes]] = {}
    for scope_id, data in LogEntry.objects.filter(log=log).order_by("seq").values_list("scope_id", "data"):
        entries_by_scope.setdefault(scope_id, []).append(data.encode())
    # The theme division (if any) first: its shares are the project ballots' pools.
    shares = None
    for scope in sorted(VotingScope.objects.filter(cycle=cycle),
                        key=lambda s: (not division.is_division(s.key), s.key)):
        existing = ScopeResult.objects.filter(scope=scope).first()
        if existing:
            results.append(existing)
            if division.is_division(scope.key):
                shares = division.shares_of(existing.division)
            continue
        spec = logstore.spec_from_json(scope.spec)
        raw = entries_by_scope.get(scope.pk, [])
        if division.is_division(scope.key):
            stored = division.count(spec, scope, [parse_entry(d) for d in raw])
            shares = division.shares_of(stored)
            results.append(ScopeResult.objects.create(
                scope=scope, rule={"rule": division.division_rule(scope)},
                input_hash=hashlib.sha256(b"\n".join(raw)).hexdigest(),
                engine_version=f"civicbudget {civicbudget.__version__}", num_votes=len(raw),
                winners=[], total_cost_yuan=0, explanations=[], counted_at=now, division=stored))
            continue
        spec, pools = division.apply_pools(spec, shares)
        election = scope_election(logstore.cycle_label(cycle), spec, [parse_entry(d) for d in raw])
        outcome = tally(election, spec.rule)
        digest = hashlib.sha256(b"\n".join(raw)).hexdigest()
        watched = [f"{st.name}: {st.count_observers.replace(chr(10), '、')}"
                   for st in PollingStation.objects.filter(cycle=cycle).exclude(count_observers="")
                   if scope.key in scope_keys(st.community_id, st.community.street_id)]
        results.append(ScopeResult.objects.create(
            scope=scope, rule=logstore.spec_to_json(spec)["rule"], input_hash=digest,
            engine_version=f"civicbudget {civicbudget.__version__}", num_votes=len(raw),
            winners=list(outcome.winners), total_cost_yuan=int(outcome.total_cost),
            explanations=[_explanation(e) for e in outcome.explanations],
            counted_at=now, observers="\n".join(filter(None, [observers, *watched]))[:4000],
            division=pools))
    logstore.checkpoint(log, now)
    return results


def _jsonable(value):
    if isinstance(value, bool | int | str | type(None)):
        return value
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return str(value)


def _explanation(e) -> dict:
    return {"project_id": e.project_id, "selected": e.selected, "reason": e.reason,
            "details": _jsonable(e.details)}
