"""Voting API: identify and get a code, exchange it for a voter token, cast ballots, receipts.

The voter token (``Authorization: Bearer ...``) is a signed, time-limited string naming the
voter; it is issued only after the SMS code is checked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core import signing
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.security import HttpBearer

from civicbudget.api.auth import StaffAuth
from civicbudget.clientaddr import client_address
from civicbudget.cycles.models import Cycle
from civicbudget.errors import NotFound, ServiceError
from civicbudget.voting import logstore, selectors, services
from civicbudget.voting.models import PollingStation, Voter

router = Router(tags=["voting"])
TOKEN_SALT = "civicbudget.voting.voter"  # noqa: S105 - a signing namespace, not a secret
TOKEN_MAX_AGE = 30 * 60


def voter_token(voter: Voter) -> str:
    return signing.dumps({"v": voter.pk, "c": voter.cycle_id}, salt=TOKEN_SALT, compress=True)


@dataclass(frozen=True)
class TokenVoter:
    voter_id: int
    cycle_id: int


def token_voter(token: str) -> TokenVoter | None:
    """Return whom a valid, unexpired voter token names, or None."""
    try:
        data = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), int) for k in ("v", "c")):
        return None
    return TokenVoter(data["v"], data["c"])


class VoterTokenBearer(HttpBearer):
    """The signature alone, no database read: casting a ballot reads the voter with the rest."""

    def authenticate(self, request: HttpRequest, token: str) -> TokenVoter | None:
        return token_voter(token)


class VoterBearer(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Voter | None:
        named = token_voter(token)
        if named is None:
            return None
        return (Voter.objects.select_related("community__street")
                .filter(pk=named.voter_id, cycle_id=named.cycle_id).first())


class IdentifyIn(Schema):
    doc_type: str
    doc_number: str
    birth_date: dt.date | None = None
    community_id: int
    basis: str
    phone: str


class IdentifyOut(Schema):
    code_sent: bool
    phone_masked: str


class VerifyIn(IdentifyIn):
    code: str


class TokenOut(Schema):
    token: str
    expires_in: int


class ScopeOut(Schema):
    id: int
    key: str
    title: str
    spec: dict
    voted: bool


class BallotIn(Schema):
    scope_id: int = Field(ge=1, le=2**63 - 1)
    choices: list[str] | dict[str, int]
    token: str = ""


class ReceiptOut(Schema):
    receipt: str
    scope: str
    repeated: bool


def _cycle(cycle_id: int) -> Cycle:
    cycle = Cycle.objects.prefetch_related("stages").filter(pk=cycle_id).first()
    if cycle is None:
        raise NotFound(f"No cycle {cycle_id}.")
    return cycle


@router.post("/cycles/{cycle_id}/voters/code", response=IdentifyOut)
def voter_code(request: HttpRequest, cycle_id: int, payload: IdentifyIn):
    """Check eligibility and text a one-time code to the voter's mobile."""
    cycle = _cycle(cycle_id)
    services._vote_open(cycle)
    services.voter_identify(cycle=cycle, doc_type=payload.doc_type, doc_number=payload.doc_number,
                            birth_date=payload.birth_date, community_id=payload.community_id,
                            basis=payload.basis, phone=payload.phone, register=False)
    services.otp_send(phone=payload.phone, cycle=cycle, client=client_address(request))
    from civicbudget.identity import canonical_phone
    from civicbudget.voting.sms import mask

    return {"code_sent": True, "phone_masked": mask(canonical_phone(payload.phone, mobile_only=True))}


@router.post("/cycles/{cycle_id}/voters/token", response=TokenOut)
def voter_token_issue(request: HttpRequest, cycle_id: int, payload: VerifyIn):
    """Exchange the SMS code for a voter token (30 minutes)."""
    cycle = _cycle(cycle_id)
    if not services.otp_verify(phone=payload.phone, code=payload.code):
        raise ServiceError(_("The code is wrong or has expired."), field="code", code="bad_code")
    voter = services.voter_identify(cycle=cycle, doc_type=payload.doc_type, doc_number=payload.doc_number,
                                    birth_date=payload.birth_date, community_id=payload.community_id,
                                    basis=payload.basis, phone=payload.phone)
    return {"token": voter_token(voter), "expires_in": TOKEN_MAX_AGE}


@router.get("/cycles/{cycle_id}/my-ballots", response=list[ScopeOut], auth=VoterBearer())
def my_ballots(request: HttpRequest, cycle_id: int):
    voter: Voter = request.auth
    voted = set(voter.participations.values_list("scope_id", flat=True))
    return [{"id": s.pk, "key": s.key, "title": s.title, "spec": s.spec, "voted": s.pk in voted}
            for s in services.voter_scopes(voter)]


@router.post("/cycles/{cycle_id}/ballots", response={201: ReceiptOut, 200: ReceiptOut},
             auth=VoterTokenBearer())
def ballot_cast(request: HttpRequest, cycle_id: int, payload: BallotIn):
    """Cast one ballot; a retried submission (same ``token``) returns the first receipt (200)."""
    voter: TokenVoter = request.auth
    if voter.cycle_id != cycle_id:
        raise ServiceError("The voter token belongs to another cycle.", code="wrong_cycle")
    cast = services.ballot_cast_by_id(voter_id=voter.voter_id, cycle_id=cycle_id,
                                      scope_id=payload.scope_id, choices=payload.choices,
                                      token=payload.token[:64])
    body = {"receipt": cast.receipt, "scope": cast.scope_key, "repeated": cast.repeated}
    return Status(200 if cast.repeated else 201, body)


@router.get("/cycles/{cycle_id}/receipts/{receipt}", response=dict)
def receipt_get(request: HttpRequest, cycle_id: int, receipt: str):
    """Where a receipt stands: ``{"state": "pending"}`` while its batch is open, then
    ``{"state": "logged", "proof": ...}`` with the inclusion proof against a signed
    checkpoint and its batch (verifiable offline). Never the ballot's choices."""
    status = logstore.receipt_status(logstore.log_for(_cycle(cycle_id)), receipt)
    if status is None:
        raise NotFound("No ballot in this cycle's log has that receipt.")
    return status


@router.get("/cycles/{cycle_id}/turnout", response=dict)
def turnout(request: HttpRequest, cycle_id: int):
    """Live turnout: voters in all, per channel, per age band and per community.

    ``percent`` counts voters against ``base``: residents of voting age where the communities
    give that figure (``base_kind`` "eligible"), all residents where none does ("residents"),
    or a mix ("mixed").
    """
    data = selectors.turnout(_cycle(cycle_id))
    return {"voters": data["voters"], "population": data["population"], "base": data["base"],
            "base_kind": data["base_kind"], "percent": data["percent"],
            "by_channel": data["by_channel"], "by_age": data["by_age"],
            "by_community": [{"community_id": r["community"].pk, "community": r["community"].name,
                              "voters": r["voters"], "population": r["community"].population,
                              "eligible_population": r["community"].eligible_population or None,
                              "percent": round(100 * r["rate"], 2) if r["rate"] is not None else None}
                             for r in data["by_community"]]}


@router.get("/cycles/{cycle_id}/results", response=list[dict])
def results(request: HttpRequest, cycle_id: int):
    """Each scope's counted result (empty until voting has closed)."""
    return [{"scope": r.scope.key, "title": r.scope.title, "rule": r.rule, "num_votes": r.num_votes,
             "winners": r.winners, "total_cost_yuan": r.total_cost_yuan, "input_hash": r.input_hash,
             "engine_version": r.engine_version, "counted_at": r.counted_at.isoformat(),
             "explanations": r.explanations}
            for r in selectors.results(_cycle(cycle_id))]


class CheckInIn(Schema):
    doc_type: str
    doc_number: str
    birth_date: dt.date | None = None
    community_id: int
    basis: str


class AlreadyCastOut(Schema):
    scope: str
    channel: str
    day: dt.date


class CheckInOut(Schema):
    issued: list[str]
    already_cast: list[AlreadyCastOut]


@router.post("/polling-stations/{station_id}/check-ins", response=CheckInOut, auth=StaffAuth("voting:admin"))
def station_check_in(request: HttpRequest, station_id: int, payload: CheckInIn):
    """Check a resident in at a polling point (staff session): the ballots to hand out, and
    those already cast with their channel and day. 403 for a community the polling point
    does not serve (audited), 400 ``already_voted`` when every ballot was cast."""
    station = (PollingStation.objects.select_related("community__street").filter(pk=station_id).first())
    if station is None:
        raise NotFound(f"No polling station {station_id}.")
    made = services.poll_check_in(officer=request.auth, station=station, doc_type=payload.doc_type,
                                  doc_number=payload.doc_number, birth_date=payload.birth_date,
                                  community_id=payload.community_id, basis=payload.basis)
    return {"issued": [p.scope.key for p in made.issued],
            "already_cast": [{"scope": scope.key, "channel": channel, "day": day}
                             for scope, channel, day in made.already]}
