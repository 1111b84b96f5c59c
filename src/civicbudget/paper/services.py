"""Print ballot sheets, scan them into the count or the adjudication queue, adjudicate.

Printing records every sheet id; scanning reads each page (:mod:`civicbudget.paper.omr`),
names its problem if it has one, and (unless it is a dry run) logs a clean sheet through the
same path as a typed paper ballot (``voting.services.paper_sheet_log``) or queues it for two
officers. A scan that cannot be settled is never counted before they agree.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from civicbudget.accounts.permissions import permission_require
from civicbudget.audit.services import audit_record
from civicbudget.cycles.models import Cycle
from civicbudget.errors import NotFound, ServiceError
from civicbudget.paper import layout, omr, sheetpdf
from civicbudget.paper.models import (
    SCANNED_NUMBERS_FROM,
    Adjudication,
    PrintBatch,
    PrintedSheet,
    ScannedSheet,
)
from civicbudget.voting import logstore
from civicbudget.voting.models import PollingStation, VotingScope, scope_keys

MAX_SHEETS = 5000  # per print run: a polling point's day with room to spare
MAX_FILES = 5000  # per scan run
TICKABLE = ("approval", "choose-1")



def _next_box_number(station, scope) -> int:
    """The next number of a counted scanned sheet in its box, for the audit's manifest."""
    from django.db.models import Max

    top = (ScannedSheet.objects.filter(station=station, scope=scope).aggregate(n=Max("box_number"))["n"])
    return max(top or 0, SCANNED_NUMBERS_FROM - 1) + 1

def _sheet_code() -> str:
    # 80 random bits in QR's alphanumeric alphabet: guessing a printed id is hopeless.
    return "CB" + base64.b32encode(secrets.token_bytes(10)).decode()


def _yuan(value) -> str:
    amount = Fraction(value)
    text = f"{int(amount):,}" if amount.denominator == 1 else f"{float(amount):,.2f}"
    return _("%(amount)s yuan") % {"amount": text}


def rule_sentence(spec: dict) -> str:
    """The ballot's rule in one sentence, as printed on the sheet ("最多选 5 项")."""
    if spec.get("max_sum_cost") is not None:
        return _("Choose projects costing at most %(budget)s in all") % {"budget": _yuan(spec["max_sum_cost"])}
    if spec.get("max_length"):
        n = spec["max_length"]
        return ngettext("Choose at most %(n)d project", "Choose at most %(n)d projects", n) % {"n": n}
    return _("Choose as many projects as you support")


def stakeholder_text(spec: dict, station: PollingStation | None) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The sheet's stakeholder note and project labels; ("", ()) for a ballot without weights.

    A sheet printed for a polling point says what the online ballot says to a resident of its
    community (the count takes the station's community as every paper voter's home) and marks
    that community's projects; a sheet printed without one names each project's community.
    """
    weight = spec.get("stakeholder_weight")
    if not weight:
        return "", ()
    from civicbudget.places.models import Community

    keys = {p["serves"] for p in spec["projects"] if p.get("serves", "").startswith("community:")}
    names = dict(Community.objects.filter(pk__in=[int(k.split(":")[1]) for k in keys])
                 .values_list("pk", "name"))

    def name(key: str) -> str:
        return names.get(int(key.split(":")[1]), key)

    if station is not None:
        home = f"community:{station.community_id}"
        note = (_("On this ballot, residents count %(n)s times for the projects that serve their own community: "
                  "your vote for a project marked “%(community)s” counts %(n)s times, for the others once.")
                % {"n": weight, "community": station.community.name})
        badge = _("%(community)s · counts %(n)s×") % {"community": station.community.name, "n": weight}
        return note, tuple((str(p["id"]), badge) for p in spec["projects"] if p.get("serves") == home)
    note = (_("On this ballot, residents count %(n)s times for the projects that serve their own community: "
              "your vote for a project marked with your community's name counts %(n)s times, for the others once.")
            % {"n": weight})
    return note, tuple((str(p["id"]), _("%(community)s residents · counts %(n)s×")
                        % {"community": name(p["serves"]), "n": weight})
                       for p in spec["projects"] if p.get("serves") in keys)


def _station_check(station: PollingStation | None, scope: VotingScope) -> None:
    if station is not None and (station.cycle_id != scope.cycle_id or scope.key not in scope_keys(
            station.community_id, station.community.street_id)):
        raise ServiceError(_("%(station)s does not hold ballots of %(scope)s.")
                           % {"station": station.name, "scope": scope.title}, field="scope")


def cycle_scopes(cycle: Cycle) -> list[VotingScope]:
    return list(VotingScope.objects.filter(cycle=cycle).exclude(key__startswith="division:").order_by("key"))


@dataclass(frozen=True)
class Printed:
    pdf: bytes
    layout: dict
    batch: PrintBatch


def sheets_print(*, actor, cycle: Cycle, scope: VotingScope | None, count: int,
                 station: PollingStation | None = None) -> Printed:
    """Print ``count`` sheets of a scope (default: the cycle's first) and record their ids.

    ``actor`` None is the operator at the command line; a user must be allowed to vote-desk
    at the station's community (or, without a station, at the scope's place).
    """
    if scope is None:
        scopes = cycle_scopes(cycle)
        if not scopes:
            raise ServiceError(_("No ballot is open in this cycle yet."), field="scope")
        scope = scopes[0]
    if scope.cycle_id != cycle.pk:
        raise ServiceError(_("That ballot is not one of this cycle's."), field="scope")
    if actor is not None:
        place = station.community if station else (scope.community or scope.street)
        permission_require(actor, "vote", place, cycle)
    _station_check(station, scope)
    if not isinstance(count, int) or not 1 <= count <= MAX_SHEETS:
        raise ServiceError(_("Print 1 to %(max)d sheets at a time.") % {"max": MAX_SHEETS}, field="sheets")
    spec = scope.spec
    if spec.get("vote_type") not in TICKABLE:
        raise ServiceError(_("Paper sheets are for ballots where voters tick projects; this ballot "
                             "asks for ranks or points."), field="scope")
    if len(spec["projects"]) > layout.max_projects():
        raise ServiceError(_("A sheet holds at most %(n)d projects.") % {"n": layout.max_projects()},
                           field="scope")
    # The sheet speaks the district's language, whoever prints it.
    with translation.override(settings.LANGUAGE_CODE):
        note, badges = stakeholder_text(spec, station)
        text = sheetpdf.SheetText(
            scope_title=scope.title, cycle_title=cycle.display_name, rule=rule_sentence(spec),
            how_to_mark=_("Fill in or tick the box of each project you choose, with a dark pen."),
            projects=tuple((str(p["id"]), p.get("name") or str(p["id"]), _yuan(p["cost"]))
                           for p in spec["projects"]),
            note=note, badges=badges)
    codes = [_sheet_code() for _i in range(count)]
    pdf, sheet_layout = sheetpdf.sheets_pdf(text, codes)
    with transaction.atomic():
        batch = PrintBatch.objects.create(cycle=cycle, scope=scope, station=station,
                                          printed_by=actor if getattr(actor, "pk", None) else None,
                                          count=count, boxes=sheet_layout["pages"][0]["boxes"])
        PrintedSheet.objects.bulk_create([PrintedSheet(code=c, batch=batch) for c in codes])
        audit_record(actor, "paper_sheets_print", batch,
                     after={"scope": scope.key, "sheets": count,
                            "station": station.name if station else None},
                     place=station.community if station else (scope.community or scope.street))
    return Printed(pdf, sheet_layout, batch)


# -- scanning -------------------------------------------------------------------------------


@dataclass
class SheetRead:
    """One scanned page as the machine read it (``as_json`` is the ``--json`` line)."""

    file: str
    page: int
    sheet: str | None
    scope: VotingScope | None = None
    marked: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    problem: str | None = None
    sha256: str = ""
    printed: PrintedSheet | None = None
    station: PollingStation | None = None
    snapshot: bytes = b""  # the aligned page, kept only for sheets that go to the queue
    same_scan: bool = False  # this very image was recorded before: nothing to store again

    def as_json(self) -> dict:
        return {"file": self.file, "page": self.page, "sheet": self.sheet,
                "scope": self.scope.key if self.scope else None, "marked": self.marked,
                "ambiguous": self.ambiguous, "problem": self.problem}

    @property
    def is_clean(self) -> bool:
        return self.problem is None and not self.ambiguous


def _overvote(spec: dict, marked: list[str]) -> bool:
    if spec.get("max_length") and len(marked) > spec["max_length"]:
        return True
    if spec.get("max_sum_cost") is not None:
        costs = {str(p["id"]): Fraction(p["cost"]) for p in spec["projects"]}
        return sum(costs[m] for m in marked) > Fraction(spec["max_sum_cost"])
    return False


def _read_one(cycle, station, name, sha, page, seen) -> SheetRead:
    number, gray = page
    got = omr.read_page(gray, number)
    read = SheetRead(file=name, page=number, sheet=got.sheet, sha256=sha, station=station)
    if got.problem:
        read.problem = got.problem
        read.snapshot = omr.snapshot(got.aligned) if got.aligned is not None else omr.snapshot_raw(gray)
        return read
    printed = (PrintedSheet.objects.select_related("batch__scope", "batch__station__community")
               .filter(code=got.sheet).first())
    if printed is None:
        read.problem = "unknown_sheet"
        read.snapshot = omr.snapshot(got.aligned)
        return read
    read.printed = printed
    scope = printed.batch.scope
    read.scope = scope
    read.station = station or printed.batch.station
    measures = got.measure(layout.boxes_from_json(printed.batch.boxes))
    read.marked = [m.project for m in measures if m.state == "marked"]
    read.ambiguous = [m.project for m in measures if m.state == "ambiguous"]
    earlier = ScannedSheet.objects.filter(sheet=printed)
    read.same_scan = earlier.filter(file_sha256=sha, page=number).exists()
    if scope.cycle_id != cycle.pk or (read.station is not None and scope.key not in scope_keys(
            read.station.community_id, read.station.community.street_id)):
        read.problem = "wrong_scope"
    elif got.sheet in seen or earlier.exists():
        read.problem = "duplicate"
    elif _overvote(scope.spec, read.marked):
        read.problem = "overvote"
    elif not read.marked and not read.ambiguous:
        read.problem = "blank"
    seen.add(got.sheet)
    if not read.is_clean:
        read.snapshot = omr.snapshot(got.aligned)
    return read


@dataclass
class ScanReport:
    sheets: list[SheetRead]
    errors: list[str]  # files that could not be read at all, "name: why"
    counted: int = 0
    queued: int = 0


def sheets_read(*, cycle: Cycle, files: list[tuple[str, bytes | Path]], station: PollingStation | None = None
                ) -> ScanReport:
    """Read every page of the files (name, bytes or a path read when its turn comes); write nothing."""
    if len(files) > MAX_FILES:
        raise ServiceError(_("Scan at most %(n)d files at a time.") % {"n": MAX_FILES}, field="files")
    seen: set[str] = set()
    seen_files: set[str] = set()
    report = ScanReport([], [])
    for name, source in files:
        # One file in memory at a time, however many are given.
        try:
            data = source.read_bytes() if isinstance(source, Path) else source
        except OSError as exc:
            report.errors.append(f"{name}: {exc.strerror or exc}")
            continue
        sha = hashlib.sha256(data).hexdigest()
        again = sha in seen_files  # the same file given twice: its pages are recorded once
        seen_files.add(sha)
        try:
            for page in omr.load_pages(data):
                read = _read_one(cycle, station, name, sha, page, seen)
                if again:
                    read.problem, read.same_scan = "duplicate", True
                report.sheets.append(read)
        except omr.ScanFileError as exc:
            report.errors.append(f"{name}: {exc}")
    return report


def _scan_dir() -> Path:
    path = Path(settings.DATA_DIR) / "paper-scans"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sheets_scan(*, actor, cycle: Cycle, files: list[tuple[str, bytes | Path]],
                station: PollingStation | None = None) -> ScanReport:
    """Read the files and enter them: clean sheets are logged and counted, the rest queued.

    Nothing is written when a clean sheet has no polling point to be counted for (printed for
    none and no ``station`` given): the operator names one and runs again.
    """
    report = sheets_read(cycle=cycle, files=files, station=station)
    homeless = [s for s in report.sheets if s.is_clean and s.station is None]
    if homeless:
        raise ServiceError(_("%(n)d sheets were printed for no polling point: name the polling point "
                             "whose box they come from.") % {"n": len(homeless)}, field="station")
    from civicbudget.voting.services import paper_sheet_log

    now = timezone.now()
    # All or nothing: a run that fails half-way leaves the count as it was (image files
    # written before the failure are only orphans, never read).
    # Rows (and ballots staged) in random order, not the pile's: the order sheets leave a box
    # follows the order they went in, which the poll book's check-ins also record.
    order = list(report.sheets)
    secrets.SystemRandom().shuffle(order)
    with transaction.atomic():
        for read in order:
            if read.same_scan:
                continue  # this very image was entered before: scanning a file twice changes nothing
            record = ScannedSheet(
                cycle=cycle, sheet=read.printed, code=(read.sheet or "")[:200], scope=read.scope,
                station=read.station, file_name=Path(read.file).name[:255], page=read.page,
                file_sha256=read.sha256, marked=read.marked, ambiguous=read.ambiguous,
                problem=read.problem or "", state=ScannedSheet.State.QUEUED, scanned_at=now,
                scanned_by=actor if getattr(actor, "pk", None) else None)
            if read.is_clean:
                try:
                    record.receipt = paper_sheet_log(station=read.station, scope=read.scope,
                                                     choices=read.marked)
                    record.state = ScannedSheet.State.COUNTED
                    record.box_number = _next_box_number(read.station, read.scope)
                except ServiceError as exc:
                    if exc.code != "over_issued":
                        raise
                    record.problem = read.problem = "over_issued"
            if record.state == ScannedSheet.State.QUEUED:
                name = f"{read.sha256[:32]}-{read.page}.jpg"
                (_scan_dir() / name).write_bytes(read.snapshot)
                record.image_path = name
                report.queued += 1
            else:
                report.counted += 1
            record.save()
    place = station.community if station else cycle.district
    audit_record(actor, "paper_sheets_scan", cycle,
                 after={"pages": len(report.sheets), "counted": report.counted, "queued": report.queued,
                        "unreadable_files": len(report.errors)}, place=place)
    return report


# -- adjudication ---------------------------------------------------------------------------


def _scan_place(scanned: ScannedSheet):
    if scanned.station_id:
        return scanned.station.community
    if scanned.scope_id and (scanned.scope.community_id or scanned.scope.street_id):
        return scanned.scope.community or scanned.scope.street
    return scanned.cycle.district


def sheet_adjudicate(*, officer, scanned: ScannedSheet, choices: list[str] | None) -> ScannedSheet:
    """Record one officer's decision on a queued sheet; ``choices`` None sets it aside.

    Two officers who agree settle the sheet (counted or set aside); when they differ, a
    third officer's decision settles it. Nothing is counted before that.
    """
    cycle = Cycle.objects.prefetch_related("stages").get(pk=scanned.cycle_id)
    permission_require(officer, "vote", _scan_place(scanned), cycle)
    if choices is not None:
        if scanned.scope is None:
            raise ServiceError(_("A sheet whose ballot is unknown can only be set aside (and typed in "
                                 "by hand)."), field="choices")
        known = {str(p["id"]) for p in scanned.scope.spec["projects"]}
        choices = sorted({str(c) for c in choices})
        if not choices or not set(choices) <= known:
            raise ServiceError(_("Choose the projects marked on the sheet, or set it aside."),
                               field="choices")
        from civicbudget.voting.services import _normalize_choices

        _normalize_choices(scanned.scope, choices)  # over the rule: set it aside instead
    with transaction.atomic():
        scanned = ScannedSheet.objects.select_for_update().get(pk=scanned.pk)
        if scanned.state != ScannedSheet.State.QUEUED:
            raise ServiceError(_("This sheet is settled already."), code="settled")
        earlier = list(scanned.decisions.all())
        if any(d.officer_id == officer.pk for d in earlier):
            raise ServiceError(_("You decided on this sheet already; another officer decides next."),
                               code="same_officer")
        decision = Adjudication.objects.create(scanned=scanned, officer=officer, choices=choices or [],
                                               set_aside=choices is None)
        agreed = [d for d in earlier if (d.set_aside, d.choices) == (decision.set_aside, decision.choices)]
        final = len(earlier) >= 2 or bool(agreed)  # a match, or the third officer's word
        if final:
            if decision.set_aside:
                scanned.state = ScannedSheet.State.SET_ASIDE
            else:
                if scanned.station is None:
                    raise ServiceError(_("This sheet has no polling point to be counted for."))
                from civicbudget.voting.services import paper_sheet_log

                scanned.receipt = paper_sheet_log(station=scanned.station, scope=scanned.scope,
                                                  choices=decision.choices)
                scanned.state = ScannedSheet.State.ADJUDICATED
                scanned.box_number = _next_box_number(scanned.station, scanned.scope)
            scanned.save(update_fields=["state", "receipt", "box_number"])
        audit_record(officer, "paper_sheet_adjudicate", scanned,
                     after={"decision": "set_aside" if decision.set_aside else "count",
                            "settled": final, "state": scanned.state}, place=_scan_place(scanned))
    return scanned


def adjudication_queue(*, officer, cycle: Cycle) -> list[ScannedSheet]:
    """Queued sheets at the places where ``officer`` may run the vote desk."""
    from civicbudget.accounts.permissions import permission_check

    queued = (ScannedSheet.objects.filter(cycle=cycle, state=ScannedSheet.State.QUEUED)
              .select_related("station__community", "scope__community", "scope__street", "cycle__district")
              .prefetch_related("decisions").order_by("scanned_at", "pk"))
    return [s for s in queued if permission_check(officer, "vote", _scan_place(s), cycle)]


def scan_image(scanned: ScannedSheet) -> tuple[bytes, bytes | None]:
    """The queued sheet's aligned image with its boxes outlined by what the machine read,
    and a close-up of the rows of boxes."""
    if not scanned.image_path:
        raise NotFound(_("No image is kept for this sheet."))
    data = (_scan_dir() / Path(scanned.image_path).name).read_bytes()
    boxes = layout.boxes_from_json(scanned.sheet.batch.boxes) if scanned.sheet_id else []
    states = {p: "marked" for p in scanned.marked} | {p: "ambiguous" for p in scanned.ambiguous}
    return omr.outlined(data, boxes, states)


def scope_projects(scope: VotingScope) -> list[tuple[str, str]]:
    return [(p.id, p.name) for p in logstore.scope_spec(scope.pk, scope.spec).projects]
