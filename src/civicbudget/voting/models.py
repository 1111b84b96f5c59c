"""Voters, participation (who voted where, never what), the ballot log and results.

The split is the point: ``Participation`` knows the voter and the scope but not the
choices; ``LogEntry`` holds the choices but no voter. A unique constraint on
(voter, scope) makes "one person, one vote per ballot" a database fact, whatever the
channel and however many requests race.

Nothing joins the two sides: a participation keeps only the day; a cast ballot waits in
``PendingBallot`` (keyed by its random-looking receipt, with no time and no counter) until
its batch is written to the log in leaf-hash order; ``Submission`` keeps no time.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicbudget.cycles.models import Cycle
from civicbudget.places.models import Community, Street


class VotingChannel(models.TextChoices):
    ONLINE = "online", _("online")
    POLLING = "polling", _("polling point")
    MOBILE_BOX = "mobile_box", _("mobile ballot box")
    SCHOOL = "school", _("school session")


def local_today():
    """Today in the district's time zone: what a participation keeps of when it happened."""
    return timezone.localdate()


def scope_keys(community_id: int, street_id: int) -> tuple[str, str]:
    """The keys of the two ballots a community's residents vote on: their community's and
    their street's."""
    return f"community:{community_id}", f"street:{street_id}"


class VotingScope(models.Model):
    """One ballot as frozen for voting: a street's or a community's (``street:3``, ``community:12``).

    ``spec`` is the ledger's ScopeSpec as JSON, copied when voting opens so the count and the
    public export use exactly what voters saw.
    """

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="voting_scopes")
    key = models.CharField(max_length=40)
    street = models.ForeignKey(Street, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    community = models.ForeignKey(Community, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    title = models.CharField(max_length=200)
    spec = models.JSONField()
    opened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["cycle_id", "key"]
        constraints = [models.UniqueConstraint(fields=["cycle", "key"], name="one_scope_key")]

    def __str__(self) -> str:
        return self.title


class Voter(models.Model):
    """A person registered to vote in one cycle, known by the keyed hash of their document."""

    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="voters")
    doc_type = models.CharField(max_length=10)
    # HMAC of "doc_type:number": equal documents collide, nothing reveals the number.
    doc_hash = models.CharField(max_length=64)
    birth_date = models.DateField()
    age_band = models.CharField(max_length=8)
    phone_hash = models.CharField(max_length=64, blank=True)
    # Which of the phone's ``max_voters_per_phone`` places this voter holds: unique per
    # (cycle, phone), so no race can confirm one voter more than the limit allows.
    phone_slot = models.PositiveSmallIntegerField(null=True, blank=True)
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    basis = models.CharField(max_length=10)  # live | work | study
    registered_at = models.DateTimeField(default=timezone.now)
    registered_channel = models.CharField(max_length=12, choices=VotingChannel.choices)
    # The outreach point (``?src=`` code) the voter came through: on the person, never on a
    # ballot or a participation, so it says who was reached, not how anyone voted.
    source = models.CharField(max_length=40, blank=True, default="", db_default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "doc_hash"], name="one_voter_per_document"),
                       models.UniqueConstraint(fields=["cycle", "phone_hash", "phone_slot"],
                                               name="phone_slot_per_cycle")]

    def __str__(self) -> str:
        return f"voter {self.pk}"


class PollingStation(models.Model):
    """A fixed polling point, a mobile ballot box or a school session, with its box."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="polling_stations")
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(max_length=12, choices=VotingChannel.choices, default=VotingChannel.POLLING)
    created_at = models.DateTimeField(default=timezone.now)
    # Resident representatives and proposers who watched this box being counted (监督).
    count_observers = models.TextField(_("count observers"), blank=True)
    # When this box's poll book was last synced: a later sync's new check-ins dated before it
    # should have been in that file, so they wait for an officer instead of counting.
    last_synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "community", "name"], name="station_name")]

    def __str__(self) -> str:
        return self.name


class Participation(models.Model):
    """That a voter voted (or was handed a paper ballot) in a scope: the one-vote guard."""

    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="+")
    voter = models.ForeignKey(Voter, on_delete=models.PROTECT, related_name="participations")
    scope = models.ForeignKey(VotingScope, on_delete=models.PROTECT, related_name="participations")
    channel = models.CharField(max_length=12, choices=VotingChannel.choices)
    station = models.ForeignKey(PollingStation, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="participations")
    # The local day only: a time here would line up with the ballot's place in the log.
    day = models.DateField(default=local_today)
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["voter", "scope"], name="one_vote_per_scope")]
        indexes = [models.Index(fields=["cycle", "channel"])]

    def __str__(self) -> str:
        return f"{self.voter_id}@{self.scope_id}"


class Submission(models.Model):
    """A retried online submission gets its first receipt back: keyed by an HMAC of the voter,
    the scope and the form's random token, which the server does not keep, so the table does
    not tie a voter to a receipt even for whoever holds the server's key. No time is kept."""

    key = models.CharField(max_length=64, unique=True)
    # Sealed: the receipt XOR a pad derived from the token, so that these rows, which keep
    # the order they came in, cannot be lined up with the log.
    receipt = models.CharField(max_length=64)

    def __str__(self) -> str:
        return self.key[:8]


class BallotLog(models.Model):
    """The cycle's ballot log: its size, its signing key (encrypted) and the public key."""

    cycle = models.OneToOneField(Cycle, on_delete=models.PROTECT, related_name="ballot_log")
    log_id = models.CharField(max_length=100)
    public_key = models.CharField(max_length=64)
    private_key_pem = models.TextField()
    size = models.PositiveIntegerField(default=0)
    # When the open batch got its first ballot (None: no ballot waits). One time per batch,
    # so it says nothing about any one ballot.
    pending_since = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.log_id


class PendingBallot(models.Model):
    """A cast ballot waiting for its batch to be written to the log.

    The primary key is the receipt (a leaf hash: uniform and unknown before the ballot was
    cast), so neither a key, a time nor the table's order tells which came first.
    """

    leaf = models.CharField(max_length=64, primary_key=True)
    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="+")
    scope = models.ForeignKey(VotingScope, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=12, choices=VotingChannel.choices)
    station = models.ForeignKey(PollingStation, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")
    data = models.TextField()  # canonical JSON bytes of the entry

    def __str__(self) -> str:
        return self.leaf[:12]


class LogEntry(models.Model):
    """One accepted ballot as logged: scope, choices, channel, nonce; no voter."""

    log = models.ForeignKey(BallotLog, on_delete=models.PROTECT, related_name="entries")
    seq = models.PositiveIntegerField()
    data = models.TextField()  # canonical JSON bytes of the entry
    leaf = models.CharField(max_length=64, unique=True)  # the receipt
    scope = models.ForeignKey(VotingScope, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=12, choices=VotingChannel.choices)
    # Paper ballots keep their box, for the reconciliation of issued and cast.
    station = models.ForeignKey(PollingStation, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["log", "seq"], name="one_entry_per_seq")]

    def __str__(self) -> str:
        return f"{self.seq}:{self.leaf[:12]}"


class LogCheckpoint(models.Model):
    log = models.ForeignKey(BallotLog, on_delete=models.PROTECT, related_name="checkpoints")
    size = models.PositiveIntegerField()
    root = models.CharField(max_length=64)
    at = models.DateTimeField()
    encoded = models.TextField()  # the signed checkpoint as the ledger encodes it

    class Meta:
        ordering = ["size", "id"]
        constraints = [models.UniqueConstraint(fields=["log", "size"], name="one_checkpoint_per_size")]

    def __str__(self) -> str:
        return f"{self.size}:{self.root[:12]}"


class PaperEntry(models.Model):
    """One officer's reading of one paper ballot: two matching readings log the ballot."""

    class State(models.TextChoices):
        WAITING = "waiting", _("waiting for the second entry")
        MATCHED = "matched", _("matched and logged")
        CONFLICT = "conflict", _("entries differ: in the review queue")
        RESOLVED = "resolved", _("resolved by review")

    station = models.ForeignKey(PollingStation, on_delete=models.PROTECT, related_name="paper_entries")
    scope = models.ForeignKey(VotingScope, on_delete=models.PROTECT, related_name="+")
    number = models.PositiveIntegerField(_("ballot number"))
    choices = models.JSONField()
    is_blank = models.BooleanField(default=False)
    officer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=State.choices, default=State.WAITING)
    receipt = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["station", "scope", "number", "officer"],
                                    name="one_reading_per_officer"),
        ]

    def __str__(self) -> str:
        return f"{self.station_id}/{self.scope_id}#{self.number}"


class PendingVote(models.Model):
    """Step 1 of a web vote, waiting (10 minutes at most) for the SMS code of step 2.

    The session holds only a random token; the row is found by that token's keyed hash and
    holds what registration needs: the document's keyed hash (never the number), the birth
    date, the community, the basis and the phone's keyed hash (the phone itself is dropped
    once the code is sent).
    """

    token_hash = models.CharField(max_length=64, unique=True)
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    doc_type = models.CharField(max_length=10)
    doc_hash = models.CharField(max_length=64)
    birth_date = models.DateField()
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    basis = models.CharField(max_length=10)
    phone_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"pending {self.pk}"


class OneTimeCode(models.Model):
    phone_hash = models.CharField(max_length=64, db_index=True)
    # The cycle whose hourly SMS budget the code spends (none for codes outside a vote), and
    # the keyed hash of the client's address, for the back-office view of unusual clients.
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    client_hash = models.CharField(max_length=64, blank=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["cycle", "created_at"], name="otp_cycle_hour")]

    def __str__(self) -> str:
        return f"otp {self.pk}"


class ScopeResult(models.Model):
    """The count of one scope at close: input hash, rule, engine version, winners, explanations."""

    scope = models.OneToOneField(VotingScope, on_delete=models.PROTECT, related_name="result")
    rule = models.JSONField()
    input_hash = models.CharField(max_length=64)
    engine_version = models.CharField(max_length=40)
    num_votes = models.PositiveIntegerField()
    winners = models.JSONField()
    total_cost_yuan = models.BigIntegerField()
    explanations = models.JSONField()
    counted_at = models.DateTimeField(default=timezone.now)
    observers = models.TextField(blank=True)
    # Theme division (voting.division): the division scope's counted shares and amounts, or
    # a project ballot's pools (the caps it was counted with); null without a division.
    division = models.JSONField(null=True, blank=True)

    def __str__(self) -> str:
        return f"result {self.scope_id}"


class OfflineCheckIn(models.Model):
    """A check-in made on a box's poll book while it was offline, synced later.

    Synced check-ins that find the voter already voted (online, or at another box) become
    conflicts in the review queue: the box then holds a ballot too many, which a reviewer
    records as set aside before the box is entered.

    A check-in whose time or person fails the checks (outside the voting window, in the
    future, before the box's previous sync, too young, a community the box does not serve)
    is quarantined with its reason: no voter is registered and nothing counts until an
    officer accepts or rejects it. Its identity is kept as the registration would keep it
    (document hash, birth date, community, basis), never the number.
    """

    class State(models.TextChoices):
        ACCEPTED = "accepted", _("accepted")
        CONFLICT = "conflict", _("conflict: already voted")
        RESOLVED = "resolved", _("conflict resolved")
        QUARANTINED = "quarantined", _("quarantined: waiting for an officer")
        REJECTED = "rejected", _("rejected by an officer")

    class Reason(models.TextChoices):
        BEFORE_WINDOW = "before_window", _("before voting opened")
        AFTER_WINDOW = "after_window", _("after voting closed")
        FUTURE = "future", _("in the future")
        BEFORE_LAST_SYNC = "before_last_sync", _("before the box's previous sync")
        TOO_YOUNG = "too_young", _("under the voting age on the day of the check-in")
        NOT_SERVED = "not_served", _("a community this polling point does not serve")

    station = models.ForeignKey(PollingStation, on_delete=models.PROTECT, related_name="offline_check_ins")
    client_id = models.CharField(max_length=64)  # the box's own id for the record: syncing twice adds nothing
    voter = models.ForeignKey(Voter, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    doc_type = models.CharField(max_length=10, blank=True)
    doc_hash = models.CharField(max_length=64, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    community = models.ForeignKey(Community, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    basis = models.CharField(max_length=10, blank=True)
    reason = models.CharField(max_length=20, choices=Reason.choices, blank=True)
    checked_in_at = models.DateTimeField()
    synced_at = models.DateTimeField(default=timezone.now)
    synced_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(max_length=12, choices=State.choices)
    conflict_with = models.CharField(max_length=200, blank=True)
    resolution = models.TextField(blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["station", "client_id"], name="offline_record_once")]

    def __str__(self) -> str:
        return f"{self.station_id}/{self.client_id}"


class GroupMember(models.Model):
    """One member of a group electorate (a budget decided by a group, not by a place).

    Only the document's keyed hash, as voters keep it: the list says who may vote, never who
    anyone is. See ``voting.electorate``.
    """

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="group_members")
    doc_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "doc_hash"], name="one_membership")]

    def __str__(self) -> str:
        return f"{self.cycle_id}:{self.doc_hash[:8]}"
