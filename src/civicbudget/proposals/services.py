"""Submit, import and merge proposals. Every write checks stage, role and place, then audits."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from civicbudget import ratelimit
from civicbudget.accounts.permissions import permission_check, permission_require, scopes_for
from civicbudget.audit.services import audit_record, snapshot
from civicbudget.cycles.models import Cycle
from civicbudget.errors import ImportRejected, PermissionDenied, PreconditionFailed, ServiceError
from civicbudget.identity import IdentifierError, canonical_phone, keyed_hash
from civicbudget.places.models import Community
from civicbudget.proposals.models import (
    Channel,
    MatchDecision,
    MergeOperation,
    Project,
    ProjectType,
    Proposal,
    ProposerKind,
)
from civicbudget.tabular import read_table
from civicbudget.textmatch import analyze

TEXT_MAX = 2000
TITLE_MAX = 100
NAME_MAX = 50
ADDRESS_MAX = 200
PHOTO_MAX_BYTES = 5 * 1024 * 1024
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read over the phone
DEFAULT_LIMITS = {"per_phone_per_day": 5, "per_client_per_hour": 20}
logger = logging.getLogger(__name__)
#: SMS go out in the proposers' language, as the replies do (results.messages).
SMS_LANGUAGE = "zh-hans"
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"RIFF")


@dataclass(frozen=True)
class ProposalInput:
    """What a proposal form or an import row carries, before cleaning."""

    community_id: int | str | None
    text: str
    title: str = ""
    project_type: str = ProjectType.WORKS
    theme: str = ""
    address: str = ""
    proposer_name: str = ""
    phone: str = ""
    proposer_kind: str = ProposerKind.RESIDENT
    channel: str = Channel.ONLINE


def _tracking_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def _clean(cycle: Cycle, data: ProposalInput, *, phone_required: bool) -> dict:
    """Return cleaned fields or raise ``ServiceError`` naming the first bad field."""
    text = (data.text or "").strip()
    if not text:
        raise ServiceError(_("Write what you propose: the text is empty."), field="text")
    if len(text) > TEXT_MAX:
        raise ServiceError(_("The text has %(n)d characters; at most %(max)d are allowed.")
                           % {"n": len(text), "max": TEXT_MAX}, field="text")
    if "\x00" in text:
        raise ServiceError(_("The text contains a NUL character."), field="text")
    title = (data.title or "").strip() or text.splitlines()[0][:30]
    if len(title) > TITLE_MAX:
        raise ServiceError(_("The title has more than %(max)d characters.") % {"max": TITLE_MAX},
                           field="title")
    try:
        community_id = int(str(data.community_id or "").strip())
    except ValueError:
        raise ServiceError(_("Choose your community."), field="community") from None
    community = (Community.objects.select_related("street")
                 .filter(pk=community_id, cycles=cycle).first())
    if community is None:
        raise ServiceError(_("This community does not take part in %(cycle)s.") % {"cycle": cycle},
                           field="community")
    if data.project_type not in ProjectType.values:
        raise ServiceError(_("Unknown project type “%(value)s”.") % {"value": data.project_type},
                           field="project_type")
    if data.proposer_kind not in ProposerKind.values:
        raise ServiceError(_("Unknown proposer kind “%(value)s”.") % {"value": data.proposer_kind},
                           field="proposer_kind")
    if data.channel not in Channel.values:
        raise ServiceError(_("Unknown channel “%(value)s”.") % {"value": data.channel},
                           field="channel")
    name = (data.proposer_name or "").strip()
    if not name:
        raise ServiceError(_("Give the proposer's name, so the reply reaches them."),
                           field="proposer_name")
    if len(name) > NAME_MAX:
        raise ServiceError(_("The name has more than %(max)d characters.") % {"max": NAME_MAX},
                           field="proposer_name")
    phone = ""
    if (data.phone or "").strip():
        try:
            phone = canonical_phone(data.phone)
        except IdentifierError as exc:
            raise ServiceError(str(exc), field="phone") from None
    elif phone_required:
        raise ServiceError(_("Give a mobile number: it is how you follow and get the reply."),
                           field="phone")
    address = (data.address or "").strip()
    if len(address) > ADDRESS_MAX:
        raise ServiceError(_("The address has more than %(max)d characters.") % {"max": ADDRESS_MAX},
                           field="address")
    theme = (data.theme or "").strip()[:50]
    return {
        "community": community, "street": community.street, "title": title, "text": text,
        "project_type": data.project_type, "theme": theme, "address": address,
        "proposer_name": name, "proposer_phone": phone,
        "phone_hash": keyed_hash(phone, "phone") if phone else "",
        "proposer_kind": data.proposer_kind, "channel": data.channel,
    }


def _check_photo(photo) -> None:
    if photo is None:
        return
    if photo.size > PHOTO_MAX_BYTES:
        raise ServiceError(_("The photo is %(mb).1f MB; at most 5 MB.")
                           % {"mb": photo.size / 1024 / 1024}, field="photo")
    head = photo.read(16)
    photo.seek(0)
    if not head.startswith(_IMAGE_MAGIC) or (head.startswith(b"RIFF") and b"WEBP" not in head):
        raise ServiceError(_("The photo must be a JPEG, PNG, GIF or WebP image."), field="photo")


def _stage_allows_submit(cycle: Cycle) -> None:
    if "submit" not in cycle.allowed_actions():
        stage = cycle.current_stage
        raise PreconditionFailed(
            _("Proposals are not being collected now (current stage: %(stage)s).")
            % {"stage": stage.display_name if stage else (_("in preparation") if cycle.status == "draft" else _("finished"))},
            code="stage_closed",
        )


def proposal_submit(*, cycle: Cycle, data: ProposalInput, entered_by=None, photo=None,
                    client_id: str = "", phone_code: str = "", site_url: str = "",
                    source: str = "", notify: bool = False,
                    now: dt.datetime | None = None) -> Proposal:
    """Record one proposal: online by a resident (``entered_by`` None) or typed in by staff.

    Residents need a mobile number and are rate-limited per phone and per client address
    (``client_id``: ``civicbudget.clientaddr.client_address``); a ``phone_code`` sent by SMS
    confirms the phone, otherwise staff see the proposal marked "phone not confirmed".
    Staff need the "submit" role at the community. Both need a stage that collects.

    Once saved, a mobile number gets an SMS with the tracking code and the link to the
    tracking page (``site_url``: the site's address, e.g. ``https://pb.example.cn``).
    ``source``: the outreach point's code the resident came through (``outreach.sources``).
    ``notify``: the resident opts in to SMS about the project (sent only to a phone the code
    confirmed).
    """
    now = now or timezone.now()
    cycle = Cycle.objects.prefetch_related("stages").get(pk=cycle.pk)
    is_resident = entered_by is None
    if is_resident and data.channel != Channel.ONLINE:
        raise ServiceError(_("Residents submit online; other channels are entered by staff."),
                           field="channel")
    fields = _clean(cycle, data, phone_required=is_resident)
    if source:
        from civicbudget.outreach.models import OutreachPoint

        if not OutreachPoint.objects.filter(cycle=cycle, code=source).exists():
            raise ServiceError(_("Choose an outreach point of this cycle."), field="source")
    if is_resident:
        _stage_allows_submit(cycle)
    else:
        permission_require(entered_by, "submit", fields["community"], cycle)
    _check_photo(photo)
    # Checked outside the transaction below: a wrong code's counted attempt must stay counted.
    confirmed = False
    if (phone_code or "").strip() and fields["proposer_phone"]:
        from civicbudget.voting.services import otp_verify

        if not otp_verify(phone=fields["proposer_phone"], code=phone_code, now=now):
            raise ServiceError(_("The code is wrong or has expired; ask for a new one."),
                               field="phone_code")
        confirmed = True
    limits = {**DEFAULT_LIMITS, **cycle.config.get("proposal_limits", {})}
    with transaction.atomic():
        if is_resident:
            ratelimit.require(
                f"p:{cycle.pk}:{fields['phone_hash']}", window=ratelimit.DAY,
                limit=limits["per_phone_per_day"], now=now, field="phone",
                message=_("This phone has sent %(n)d proposals today, the daily limit. Try again tomorrow.")
                % {"n": limits["per_phone_per_day"]})
            if client_id:
                ratelimit.require(
                    f"c:{cycle.pk}:{keyed_hash(client_id, 'client')}", window=ratelimit.HOUR,
                    limit=limits["per_client_per_hour"], now=now,
                    message=_("Too many proposals from this network in the last hour. Try again later."))
        proposal = Proposal(cycle=cycle, entered_by=entered_by, submitted_at=now,
                            phone_confirmed=confirmed, source=(source or "")[:40],
                            analysis=analyze(fields["text"]).to_dict(), **fields)
        if photo is not None:
            proposal.photo.save(f"{secrets.token_hex(8)}{_photo_suffix(photo)}",
                                ContentFile(photo.read()), save=False)
        for _attempt in range(5):
            proposal.tracking_code = _tracking_code()
            try:
                with transaction.atomic():
                    proposal.save()
                break
            except IntegrityError:
                if Proposal.objects.filter(tracking_code=proposal.tracking_code).exists():
                    continue
                raise
        if notify and is_resident:
            from civicbudget.notifications.services import subscription_create

            subscription_create(cycle=cycle, phone=fields["proposer_phone"], community=proposal.community,
                                origin="proposal", proposal=proposal, is_confirmed=confirmed)
        if not is_resident:
            audit_record(entered_by, "proposal_enter", proposal,
                         after=snapshot(proposal, ["tracking_code", "community", "channel", "title"]),
                         place=proposal.community)
        if is_mobile(proposal.proposer_phone):
            text = tracking_sms_text(proposal, cycle, site_url)
            phone = proposal.proposer_phone
            transaction.on_commit(lambda: tracking_sms_send(phone, text, now=now))
    return proposal


def is_mobile(phone: str) -> bool:
    """Whether a canonical phone can take an SMS (a mainland mobile, not a landline)."""
    try:
        return bool(phone) and canonical_phone(phone, mobile_only=True) == phone
    except IdentifierError:
        return False


def tracking_sms_text(proposal: Proposal, cycle: Cycle, site_url: str = "") -> str:
    """The SMS that gives a proposer their tracking code, in Chinese like every reply."""
    from django.urls import reverse

    title = proposal.title if len(proposal.title) <= 20 else proposal.title[:19] + "…"
    with translation.override(SMS_LANGUAGE):
        values = {"district": cycle.district.name, "title": title, "code": proposal.tracking_code}
        if site_url:
            values["link"] = site_url.rstrip("/") + reverse("proposals:track",
                                                           kwargs={"code": proposal.tracking_code})
            return _("[%(district)s micro-projects] Your proposal “%(title)s” is received. "
                     "Tracking code: %(code)s. Follow it at %(link)s") % values
        return _("[%(district)s micro-projects] Your proposal “%(title)s” is received. "
                 "Tracking code: %(code)s. Follow it on the “Follow a proposal” page of our website.") % values


def tracking_sms_send(phone: str, text: str, *, now: dt.datetime | None = None) -> bool:
    """Send the tracking code by SMS, at most ``tracking_sms_per_phone_per_day`` a day to a
    number (staff may type many proposals for one person). The proposal is saved whatever
    happens here: a refused or failed SMS is logged without the phone and returns False."""
    from civicbudget.voting.sms import sms_send

    if not ratelimit.take(f"tsms:{ratelimit.who('phone', phone)}", window=ratelimit.DAY,
                          limit=ratelimit.limit_for("tracking_sms_per_phone_per_day"), now=now):
        logger.info("tracking-code SMS skipped: daily limit for this number reached")
        return False
    try:
        sms_send(phone, text)
    except OSError:
        logger.warning("tracking-code SMS not sent: the SMS backend refused or is disabled")
        return False
    return True


def _photo_suffix(photo) -> str:
    name = (getattr(photo, "name", "") or "").lower()
    for suffix in (".jpg", ".jpeg", ".png", ".gif", ".webp"):
        if name.endswith(suffix):
            return suffix
    return ".jpg"


PROPOSAL_IMPORT_ALIASES = {
    "社区": "community", "community": "community", "标题": "title", "title": "title",
    "内容": "text", "提议内容": "text", "text": "text", "类型": "project_type",
    "项目类型": "project_type", "project_type": "project_type", "主题": "theme", "theme": "theme",
    "地址": "address", "地点": "address", "address": "address", "提议人": "proposer_name",
    "姓名": "proposer_name", "proposer_name": "proposer_name", "电话": "phone", "手机": "phone",
    "phone": "phone", "提议人类型": "proposer_kind", "proposer_kind": "proposer_kind",
    "渠道": "channel", "channel": "channel",
}
_TYPE_WORDS = {"工程类": "works", "工程": "works", "服务类": "services", "服务": "services",
               "货物类": "goods", "货物": "goods"}
_KIND_WORDS = {"居民": "resident", "社会组织": "social_org", "学校": "school", "学生": "school",
               "两代表一委员": "deputy", "代表": "deputy", "委员": "deputy", "企业": "company"}
_CHANNEL_WORDS = {"网上": "online", "线上": "online", "入户": "door_to_door", "上门": "door_to_door",
                  "征集点": "collection_point", "提议会": "meeting", "会议": "meeting",
                  "纸质": "paper", "纸质表": "paper", "社会组织": "social_org"}


@dataclass
class ProposalImportReport:
    created: int = 0
    skipped_duplicates: int = 0
    errors: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"created": self.created, "skipped_duplicates": self.skipped_duplicates}


def proposals_import(*, actor, cycle: Cycle, data: bytes, filename: str,
                     default_channel: str = Channel.PAPER) -> ProposalImportReport:
    """Import paper proposals from CSV/XLSX: every row or none; a re-import adds nothing twice.

    Columns: 社区 (community name), 内容 (text), and optionally 标题, 类型, 主题, 地址, 提议人,
    电话, 提议人类型, 渠道. Rows already imported (same content) are skipped.
    """
    cycle = Cycle.objects.prefetch_related("stages").get(pk=cycle.pk)
    if not scopes_for(actor, "submit") or "submit" not in cycle.allowed_actions():
        permission_require(actor, "submit", cycle.district, cycle)
    table = read_table(data, filename, PROPOSAL_IMPORT_ALIASES)
    for required in ("community", "text"):
        if required not in table.headers:
            raise ImportRejected(_("The header has no “%(column)s” column; found: %(found)s.")
                                 % {"column": required,
                                    "found": ", ".join(h for h in table.headers if h) or "-"},
                                 field=required)
    if not table.rows:
        raise ImportRejected(_("The file has a header but no rows."))
    communities = {c.name: c for c in cycle.communities.select_related("street")}
    errors: list[dict] = []
    cleaned: list[tuple[int, dict, str]] = []
    seen: dict[str, int] = {}
    for line, row in table.rows:
        if row.get("__extra__"):
            errors.append({"line": line, "field": "", "message": _("more cells than header columns")})
            continue
        community = communities.get(row.get("community", ""))
        if community is None:
            errors.append({"line": line, "field": "community",
                           "message": _("“%(name)s” is not a community of this cycle")
                           % {"name": row.get("community", "")[:50]}})
            continue
        # Only an entry that is not a permitted scope (the officer's own) is refused later.
        item = ProposalInput(
            community_id=community.pk, text=row.get("text", ""), title=row.get("title", ""),
            project_type=_TYPE_WORDS.get(row.get("project_type", ""), row.get("project_type") or "works"),
            theme=row.get("theme", ""), address=row.get("address", ""),
            proposer_name=row.get("proposer_name", "") or _("(not given)"), phone=row.get("phone", ""),
            proposer_kind=_KIND_WORDS.get(row.get("proposer_kind", ""), row.get("proposer_kind") or "resident"),
            channel=_CHANNEL_WORDS.get(row.get("channel", ""), row.get("channel") or default_channel),
        )
        try:
            fields = _clean(cycle, item, phone_required=False)
        except ServiceError as exc:
            errors.append({"line": line, "field": exc.field or "", "message": exc.message})
            continue
        key = hashlib.sha256("\x1f".join(
            [str(community.pk), fields["text"], fields["proposer_name"], fields["proposer_phone"],
             fields["address"]]).encode()).hexdigest()
        if key in seen:
            errors.append({"line": line, "field": "text",
                           "message": _("the same proposal is on line %(first)d already")
                           % {"first": seen[key]}})
            continue
        seen[key] = line
        cleaned.append((line, fields, key))
    outside = []
    for _line, fields, _key in cleaned:
        if not _permitted(actor, fields["community"], cycle):
            outside.append(_line)
            errors.append({"line": _line, "field": "community",
                           "message": _("your role does not cover %(place)s") % {"place": fields["community"]}})
    if outside:
        # Rows for places outside the officer's roles make the whole file a refusal (403,
        # audited), not a format problem; every row's problems are still listed.
        message = _("Nothing was imported: your role does not cover the place of line(s) %(lines)s.") % {
            "lines": ", ".join(str(n) for n in outside[:20])}
        audit_record(actor, "submit", cycle, outcome="denied", place=cycle.district, message=message)
        raise PermissionDenied(message, details=sorted(errors, key=lambda e: e["line"]))
    if errors:
        errors.sort(key=lambda e: e["line"])
        raise ImportRejected(_("Nothing was imported: %(count)d problem(s) in the file.")
                             % {"count": len(errors)}, details=errors)
    report = ProposalImportReport()
    existing = set(Proposal.objects.filter(cycle=cycle, import_key__in=[k for *_, k in cleaned])
                   .values_list("import_key", flat=True))
    now = timezone.now()
    used_codes = set()
    new = []
    for _line, fields, key in cleaned:
        if key in existing:
            report.skipped_duplicates += 1
            continue
        code = _tracking_code()
        while code in used_codes:
            code = _tracking_code()
        used_codes.add(code)
        new.append(Proposal(cycle=cycle, entered_by=actor, submitted_at=now, import_key=key,
                            tracking_code=code, analysis=analyze(fields["text"]).to_dict(), **fields))
    with transaction.atomic():
        Proposal.objects.bulk_create(new, batch_size=1000)
        report.created = len(new)
        audit_record(actor, "proposals_import", cycle, after=report.as_dict(), place=cycle.district,
                     message=filename[:200])
    return report


def _permitted(actor, place, cycle) -> bool:
    return permission_check(actor, "submit", place, cycle)


# -- merge workbench ----------------------------------------------------------------------------


def _scope_of(proposals: list[Proposal]) -> tuple:
    streets = {p.street_id for p in proposals}
    communities = {p.community_id for p in proposals}
    if len(streets) > 1:
        raise ServiceError(_("Proposals from different streets cannot form one project."))
    street = proposals[0].street
    community = proposals[0].community if len(communities) == 1 else None
    return street, community


def _require_merge(actor, cycle: Cycle, street, community) -> None:
    permission_require(actor, "merge", community or street, cycle)


def _require_sources(actor, cycle: Cycle, proposals: list[Proposal]) -> None:
    """Taking a proposal out of a project changes that project: the actor must be able to merge
    at the project's own scope (a street-level project needs the street), not only at the
    proposal's community."""
    for p in proposals:
        if p.project_id:
            _require_merge(actor, cycle, p.street, p.project.community)


def _load(cycle: Cycle, proposal_ids) -> list[Proposal]:
    ids = sorted({int(i) for i in proposal_ids})
    if not ids:
        raise ServiceError(_("Choose at least one proposal."), field="proposals")
    proposals = list(Proposal.objects.select_related("street", "community", "project")
                     .filter(cycle=cycle, pk__in=ids))
    if len(proposals) != len(ids):
        raise ServiceError(_("Some proposals are not part of this cycle."), field="proposals")
    return proposals


def _clean_project_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("Name the project."), field="name")
    if len(name) > 100:
        raise ServiceError(_("The project name has more than 100 characters."), field="name")
    return name


def _apply_moves(proposals: list[Proposal], target: Project | None) -> list[dict]:
    moves = [{"proposal": p.pk, "from": p.project_id, "to": target.pk if target else None}
             for p in proposals if p.project_id != (target.pk if target else None)]
    Proposal.objects.filter(pk__in=[m["proposal"] for m in moves]).update(project=target)
    return moves


def _deactivate_empty(project_ids: set[int]) -> list[int]:
    emptied = [pid for pid in project_ids
               if pid is not None and not Proposal.objects.filter(project_id=pid).exists()]
    Project.objects.filter(pk__in=emptied).update(is_active=False)
    return emptied


def _operation(actor, cycle, kind, street, community, **changes) -> MergeOperation:
    op = MergeOperation.objects.create(cycle=cycle, kind=kind, actor=actor, street=street,
                                       community=community, **changes)
    audit_record(actor, f"merge_{kind}", cycle, after={"operation": op.pk, **changes},
                 place=community or street)
    return op


def project_create(*, actor, cycle: Cycle, proposal_ids, name: str, description: str = "",
                   project_type: str | None = None) -> Project:
    """Create a project gathering the given proposals (taking them from any earlier project)."""
    return _project_create(actor=actor, cycle=cycle, proposal_ids=proposal_ids, name=name,
                           description=description, project_type=project_type)[0]


def _project_create(*, actor, cycle: Cycle, proposal_ids, name: str, description: str = "",
                    project_type: str | None = None,
                    cannot: list[tuple[int, int]] = ()) -> tuple[Project, MergeOperation]:
    proposals = _load(cycle, proposal_ids)
    street, community = _scope_of(proposals)
    _require_merge(actor, cycle, street, community)
    _require_sources(actor, cycle, proposals)
    name = _clean_project_name(name)
    kinds = {p.project_type for p in proposals}
    with transaction.atomic():
        project = Project.objects.create(
            cycle=cycle, street=street, community=community,
            level=Project.Level.COMMUNITY if community else Project.Level.STREET,
            name=name, description=description.strip()[:2000],
            project_type=project_type or (kinds.pop() if len(kinds) == 1 else ProjectType.WORKS),
            created_by=actor,
        )
        previous = {p.project_id for p in proposals}
        moves = _apply_moves(proposals, project)
        emptied = _deactivate_empty(previous)
        op = _operation(actor, cycle, MergeOperation.Kind.GROUP, street, community, moves=moves,
                        created_projects=[project.pk], deactivated_projects=emptied)
        _record_cannot(op, cannot)
    return project, op


def proposals_move(*, actor, cycle: Cycle, proposal_ids, project: Project) -> MergeOperation:
    """Move proposals into an existing project of the same scope."""
    proposals = _load(cycle, proposal_ids)
    if project.cycle_id != cycle.pk or not project.is_active:
        raise ServiceError(_("The target project is not an active project of this cycle."),
                           field="project")
    street, community = _scope_of(proposals + list(project.proposals.all()[:1]))
    if project.community_id and any(p.community_id != project.community_id for p in proposals):
        raise ServiceError(_("A community project takes proposals of its own community only."),
                           field="project")
    _require_merge(actor, cycle, street, project.community or community)
    _require_sources(actor, cycle, proposals)
    with transaction.atomic():
        previous = {p.project_id for p in proposals}
        moves = _apply_moves(proposals, project)
        emptied = _deactivate_empty(previous - {project.pk})
        return _operation(actor, cycle, MergeOperation.Kind.MOVE, street, project.community,
                          moves=moves, deactivated_projects=emptied)


def projects_merge(*, actor, cycle: Cycle, target: Project, others: list[Project]) -> MergeOperation:
    """Merge other projects into ``target``: their proposals move, the emptied ones retire."""
    others = [o for o in others if o.pk != target.pk]
    if not others:
        raise ServiceError(_("Choose at least two projects to merge."), field="projects")
    for project in [target, *others]:
        if project.cycle_id != cycle.pk or not project.is_active:
            raise ServiceError(_("%(name)s is not an active project of this cycle.")
                               % {"name": project}, field="projects")
        _require_merge(actor, cycle, project.street, project.community)
    if len({p.street_id for p in [target, *others]}) > 1:
        raise ServiceError(_("Projects of different streets cannot be merged."), field="projects")
    proposals = list(Proposal.objects.filter(project__in=others))
    with transaction.atomic():
        if target.community_id and any(o.community_id != target.community_id for o in others):
            # Gathering several communities makes it a street-level project.
            _require_merge(actor, cycle, target.street, None)
            before = snapshot(target, ["level", "community"])
            target.level, target.community = Project.Level.STREET, None
            target.save(update_fields=["level", "community"])
            audit_record(actor, "project_level", target, before=before,
                         after=snapshot(target, ["level", "community"]), place=target.street)
        moves = _apply_moves(proposals, target)
        emptied = _deactivate_empty({o.pk for o in others})
        return _operation(actor, cycle, MergeOperation.Kind.MERGE, target.street, target.community,
                          moves=moves, deactivated_projects=emptied)


def proposals_split(*, actor, cycle: Cycle, proposal_ids, name: str = "") -> Project | None:
    """Take proposals out of their project: into a new project if ``name`` is given, else loose."""
    proposals = _load(cycle, proposal_ids)
    for p in proposals:
        _require_merge(actor, cycle, p.street, p.project.community if p.project else p.community)
    # What the officer said by splitting: each proposal taken out is not the same as the
    # members it left behind (later suggestions keep them apart; see MatchDecision).
    split_ids = {p.pk for p in proposals}
    left = Proposal.objects.filter(project_id__in={p.project_id for p in proposals if p.project_id})
    cannot = [(p.pk, m.pk) for m in left.exclude(pk__in=split_ids).only("pk", "project_id")
              for p in proposals if p.project_id == m.project_id]
    if name.strip():
        return _project_create(actor=actor, cycle=cycle, proposal_ids=proposal_ids, name=name,
                               cannot=cannot)[0]
    street, community = _scope_of(proposals)
    with transaction.atomic():
        previous = {p.project_id for p in proposals}
        moves = _apply_moves(proposals, None)
        emptied = _deactivate_empty(previous)
        op = _operation(actor, cycle, MergeOperation.Kind.SPLIT, street, community, moves=moves,
                        deactivated_projects=emptied)
        _record_cannot(op, cannot)
    return None


def suggestion_dismiss(*, actor, cycle: Cycle, proposal_ids, member_ids=()) -> MergeOperation:
    """"Not the same" on a suggestion: its loose proposals (``proposal_ids``) are kept apart
    from each other and from the project members it showed them with (``member_ids``).

    Recorded as an operation (in the history, undoable) carrying cannot-links only.
    """
    loose = _load(cycle, proposal_ids)
    members = _load(cycle, member_ids) if member_ids else []
    if len(loose) + len({m.pk for m in members} - {p.pk for p in loose}) < 2:
        raise ServiceError(_("A suggestion has at least two proposals."), field="proposals")
    street, community = _scope_of(loose + members)
    _require_merge(actor, cycle, street, community)
    loose_ids = sorted(p.pk for p in loose)
    pairs = [(a, b) for i, a in enumerate(loose_ids) for b in loose_ids[i + 1:]]
    pairs += [(a, m.pk) for a in loose_ids for m in members if m.pk not in loose_ids]
    with transaction.atomic():
        op = _operation(actor, cycle, MergeOperation.Kind.DISMISS, street, community,
                        moves=[])
        _record_cannot(op, pairs)
    return op


def _record_cannot(op: MergeOperation, pairs) -> None:
    rows = {(min(a, b), max(a, b)) for a, b in pairs if a != b}
    MatchDecision.objects.bulk_create(
        MatchDecision(cycle_id=op.cycle_id, operation=op, proposal_a_id=a, proposal_b_id=b,
                      actor=op.actor, at=op.at) for a, b in sorted(rows))


def project_rename(*, actor, project: Project, name: str, description: str | None = None) -> Project:
    """Name (or rename) a project; residents name projects, the wording is the officer's."""
    _require_merge(actor, project.cycle, project.street, project.community)
    name = _clean_project_name(name)
    with transaction.atomic():
        rename = {"project": project.pk, "from": project.name, "to": name,
                  "description_from": project.description}
        project.name = name
        if description is not None:
            project.description = description.strip()[:2000]
        project.save(update_fields=["name", "description"])
        _operation(actor, project.cycle, MergeOperation.Kind.RENAME, project.street,
                   project.community, renames=[rename])
    return project


def merge_undo(*, actor, operation: MergeOperation) -> MergeOperation:
    """Undo one workbench operation, if what it moved is still where it put it.

    The cannot-links the operation wrote (a split, "not the same") stop counting with it:
    suggestions read only decisions of operations not undone."""
    _require_merge(actor, operation.cycle, operation.street, operation.community)
    with transaction.atomic():
        op = MergeOperation.objects.select_for_update().get(pk=operation.pk)
        if op.undone_at:
            raise PreconditionFailed(_("This change was undone already."), code="already_undone")
        current = dict(Proposal.objects.filter(pk__in=[m["proposal"] for m in op.moves])
                       .values_list("pk", "project_id"))
        moved_since = [m["proposal"] for m in op.moves if current.get(m["proposal"]) != m["to"]]
        moved_ids = [m["proposal"] for m in op.moves]
        if Proposal.objects.filter(project_id__in=op.created_projects).exclude(pk__in=moved_ids).exists():
            moved_since.append(0)
        if moved_since:
            raise PreconditionFailed(
                _("%(n)d proposal(s) have been moved again since; undo the later change first.")
                % {"n": len(moved_since)}, code="moved_since")
        for m in op.moves:
            Proposal.objects.filter(pk=m["proposal"]).update(project_id=m["from"])
        Project.objects.filter(pk__in=op.deactivated_projects).update(is_active=True)
        Project.objects.filter(pk__in=op.created_projects).update(is_active=False)
        for r in op.renames:
            Project.objects.filter(pk=r["project"]).update(name=r["from"],
                                                           description=r.get("description_from", ""))
        op.undone_at, op.undone_by = timezone.now(), actor
        op.save(update_fields=["undone_at", "undone_by"])
        audit_record(actor, "merge_undo", op.cycle, after={"operation": op.pk},
                     place=op.community or op.street)
    return op


__all__ = ["PermissionDenied"]
