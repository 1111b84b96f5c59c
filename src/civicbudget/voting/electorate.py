"""Group electorates: a budget decided by a registered group, not by everyone in a place.

A department's budget for disabled residents, a school's budget for its pupils: the cycle's
``config["electorate"]`` is ``{"kind": "group", "name": "..."}`` and only the documents on
the group's list may vote. The list is imported from CSV or XLSX (columns ``doc_number``
(证件号码) and optionally ``doc_type`` (证件类型, default the resident ID card)); every number
goes through ``identity.canonical_document`` (NFKC, the format's ASCII, the ID card's check
character) and only its keyed hash is stored, the same hash registration computes, so
``voter_check`` can refuse a non-member before anything is stored. The ballots, the count
and the publication are the cycle's usual ones.

Staff switch a cycle between a place's residents and a group with ``electorate_set`` (the
staff cycle page and the API), and load the list with ``members_import``; both are refused
once voting has started, so eligibility never moves under a vote.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from civicbudget.accounts.permissions import permission_require
from civicbudget.audit.services import audit_record
from civicbudget.cycles.models import Cycle
from civicbudget.errors import ImportRejected, PreconditionFailed, ServiceError
from civicbudget.identity import DOC_TYPES, IdentifierError, document_hash
from civicbudget.tabular import read_table
from civicbudget.voting.models import GroupMember

MEMBER_ALIASES = {
    "证件号码": "doc_number", "身份证号": "doc_number", "身份证号码": "doc_number", "号码": "doc_number",
    "证件类型": "doc_type", "类型": "doc_type",
}
#: The longest group name: it is shown on the vote page and in the refusal of a non-member.
MAX_GROUP_NAME = 60
ELECTORATE_KINDS = ("place", "group")

DOC_TYPE_ALIASES = {"身份证": "id_card", "居民身份证": "id_card", "护照": "passport",
                    "港澳居民来往内地通行证": "hk_macao", "台湾居民来往大陆通行证": "taiwan"}


def group_name(cycle: Cycle) -> str | None:
    """The group whose members alone vote in ``cycle``, or None for a place's electorate."""
    electorate = (cycle.config or {}).get("electorate")
    if isinstance(electorate, dict) and electorate.get("kind") == "group":
        return str(electorate.get("name") or _("the group"))
    return None


def vote_started(cycle: Cycle) -> bool:
    """Return whether the cycle's vote stage has started: the electorate and its list are frozen."""
    return any(stage.kind == "vote" and stage.started_at for stage in cycle.stages.all())


def group_member_count(cycle: Cycle) -> int:
    """Return how many documents are on the cycle's group list (kept even while unused)."""
    return GroupMember.objects.filter(cycle=cycle).count()


def electorate_set(*, actor, cycle: Cycle, kind: str, name: str = "") -> str | None:
    """Make the cycle's vote one for a place's residents (``kind`` "place", the default) or
    for the members of a group (``kind`` "group" with its ``name``, 1 to 60 characters).
    Return the group's name, or None for a place. Refused once voting has started. The
    members' list is not touched: switching back to a place leaves it waiting, unused."""
    permission_require(actor, "manage_cycles", cycle.district, cycle)
    kind = str(kind or "place").strip()
    if kind not in ELECTORATE_KINDS:
        raise ServiceError(_("The electorate is either the residents of the cycle's places or the "
                             "members of a group."), field="kind")
    name = str(name or "").strip() if kind == "group" else ""
    if kind == "group" and not 1 <= len(name) <= MAX_GROUP_NAME:
        raise ServiceError(_("Give the group's name, 1 to %(max)d characters.") % {"max": MAX_GROUP_NAME},
                           field="name")
    with transaction.atomic():
        cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
        if vote_started(cycle):
            raise PreconditionFailed(_("Voting has started: who may vote can no longer change."),
                                     code="vote_started")
        config = dict(cycle.config or {})
        before = {"electorate": config.get("electorate")}
        if kind == "group":
            config["electorate"] = {"kind": "group", "name": name}
        else:
            config.pop("electorate", None)
        cycle.config = config
        cycle.save(update_fields=["config"])
        audit_record(actor, "electorate_set", cycle, before=before,
                     after={"electorate": config.get("electorate")}, place=cycle.district)
    return name or None


def member_require(cycle: Cycle, doc_hash: str) -> None:
    """Refuse a document that is not on the group's list (nothing to do for a place)."""
    name = group_name(cycle)
    if name is None:
        return
    if not GroupMember.objects.filter(cycle=cycle, doc_hash=doc_hash).exists():
        raise ServiceError(
            _("This vote is for the members of %(group)s only, and this document is not on their "
              "list. If you are a member, ask the office that keeps the list.") % {"group": name},
            field="doc_number", code="not_member")


@dataclass
class MembersReport:
    added: int = 0
    already: int = 0
    removed: int = 0
    #: False while the cycle's electorate is still its places: the list waits, unused.
    enforced: bool = False
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"added": self.added, "already": self.already, "removed": self.removed,
                "enforced": self.enforced, "errors": self.errors}


def members_import(*, actor, cycle: Cycle, data: bytes, filename: str, replace: bool = False
                   ) -> MembersReport:
    """Add the members listed in a CSV/XLSX to the cycle's group; with ``replace``, the list
    becomes exactly the file's. All rows or none: any bad row rejects the file with every bad
    row named. Refused once voting has started (eligibility must not move under a vote). A
    list may be loaded before the cycle is switched to a group electorate; ``enforced`` says
    whether it counts yet."""
    permission_require(actor, "manage_cycles", cycle.district, cycle)
    if vote_started(cycle):
        raise ServiceError(_("Voting has started: the members' list can no longer change."),
                           code="vote_started")
    table = read_table(data, filename, MEMBER_ALIASES)
    if "doc_number" not in table.headers:
        raise ImportRejected(_("The header has no “doc_number” (证件号码) column; found: %(found)s.")
                             % {"found": ", ".join(h for h in table.headers if h) or "-"},
                             field="doc_number")
    report = MembersReport(enforced=group_name(cycle) is not None)
    hashes: dict[str, int] = {}
    for line, row in table.rows:
        if row.get("__extra__"):
            report.errors.append({"line": line, "field": "", "message": _("more cells than header columns")})
            continue
        raw_type = row.get("doc_type", "").strip() or "id_card"
        doc_type = DOC_TYPE_ALIASES.get(raw_type, raw_type.lower())
        if doc_type not in DOC_TYPES:
            report.errors.append({"line": line, "field": "doc_type",
                                  "message": _("unknown document type “%(value)s”") % {"value": raw_type[:20]}})
            continue
        try:
            digest = document_hash(doc_type, row.get("doc_number", ""))
        except IdentifierError as exc:
            report.errors.append({"line": line, "field": "doc_number", "message": str(exc)})
            continue
        if digest in hashes:
            report.errors.append({"line": line, "field": "doc_number",
                                  "message": _("the same document as line %(first)d") % {"first": hashes[digest]}})
            continue
        hashes[digest] = line
    if report.errors:
        raise ImportRejected(_("%(n)d rows are wrong; nothing was imported.") % {"n": len(report.errors)},
                             details=report.errors[:200])
    if not hashes:
        raise ImportRejected(_("The file has a header but no rows."))
    with transaction.atomic():
        existing = set(GroupMember.objects.select_for_update().filter(cycle=cycle)
                       .values_list("doc_hash", flat=True))
        new = [h for h in hashes if h not in existing]
        GroupMember.objects.bulk_create([GroupMember(cycle=cycle, doc_hash=h) for h in new],
                                        batch_size=2000)
        report.added, report.already = len(new), len(hashes) - len(new)
        if replace:
            gone = existing - set(hashes)
            for start in range(0, len(gone), 2000):
                GroupMember.objects.filter(cycle=cycle, doc_hash__in=list(gone)[start:start + 2000]).delete()
            report.removed = len(gone)
        # Counts only: the list's numbers never reach the audit log.
        audit_record(actor, "group_members_import", cycle,
                     after={"added": report.added, "already": report.already, "removed": report.removed,
                            "replace": replace}, place=cycle.district)
    return report
