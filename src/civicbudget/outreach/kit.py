"""The publicity kit of a cycle: print-ready PDFs (A3 poster, A5 leaflet, an A1 display board
per ballot) and the texts for official accounts and SMS, all in Chinese.

Drawn with reportlab and its built-in Song font, as the letters are (docs/decisions/
0007-letters-reportlab.md). Every block of text is fitted into its box: the font shrinks to
a floor and what still does not fit is cut with an ellipsis, so nothing runs off the paper.
Every QR code carries the outreach point it was printed for (``?src=CODE``); the same link,
shortened to ``/s/CODE``, is printed under it in Latin letters for those who type.
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import qrcode
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A1, A3, A5
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from civicbudget.cycles.models import Cycle
from civicbudget.outreach import links
from civicbudget.outreach.models import OutreachChannel, OutreachPoint

FONT = "STSong-Light"
LATIN = "Helvetica"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

#: One SMS segment holds 70 characters when any is Chinese (UCS-2).
SMS_SEGMENT = 70


# -- text fitting -------------------------------------------------------------------------------


def wrap(text: str, size: float, width: float, font: str = FONT) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` at ``size`` (any character may break:
    Chinese has no spaces)."""
    lines: list[str] = []
    for paragraph in (text or "").split("\n"):
        line, used = "", 0.0
        for ch in paragraph:
            w = pdfmetrics.stringWidth(ch, font, size)
            if line and used + w > width:
                lines.append(line)
                line, used = "", 0.0
            line += ch
            used += w
        lines.append(line)
    return lines


def fit(text: str, width: float, height: float, *, size: float, floor: float,
        leading: float = 1.35, font: str = FONT) -> tuple[float, list[str]]:
    """Return the largest size from ``size`` down to ``floor`` at which ``text`` fits the box,
    and its lines; at the floor, the lines that fit, the last one ending in "…"."""
    current = size
    while True:
        lines = wrap(text, current, width, font)
        rows = max(1, int(height // (current * leading)))
        if len(lines) <= rows:
            return current, lines
        if current - 1 < floor:
            kept = lines[:rows]
            last = kept[-1]
            while last and pdfmetrics.stringWidth(last + "…", font, current) > width:
                last = last[:-1]
            kept[-1] = last + "…"
            return current, kept
        current -= 1


def draw_block(c: canvas.Canvas, text: str, x: float, top: float, width: float, height: float, *,
               size: float, floor: float, leading: float = 1.35, font: str = FONT,
               centred: bool = False) -> float:
    """Draw ``text`` fitted into the box whose top-left is (x, top); return the y below it."""
    size, lines = fit(text, width, height, size=size, floor=floor, leading=leading, font=font)
    c.setFont(font, size)
    y = top - size
    for line in lines:
        if centred:
            c.drawCentredString(x + width / 2, y, line)
        else:
            c.drawString(x, y, line)
        y -= size * leading
    return y + size * leading - size * 0.35  # under the last line's descenders


def qr_image(url: str) -> ImageReader:
    """A QR code of ``url`` (error correction M: a poster survives a scratch or a fold)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=2)
    code.add_data(url)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image(fill_color="black", back_color="white").save(buffer, format="PNG")
    buffer.seek(0)
    return ImageReader(buffer)


def draw_qr(c: canvas.Canvas, url: str, short: str, x: float, y: float, side: float,
            page_width: float) -> None:
    """The QR code at (x, y) with the short link under it, in Latin letters, kept on the page."""
    c.drawImage(qr_image(url), x, y, width=side, height=side)
    # The same URL as a link over the code: a PDF read on screen is clickable, and the file
    # itself names where the code leads.
    c.linkURL(url, (x, y, x + side, y + side), relative=0)
    size = max(8.0, min(side / 12, 28.0))
    room = min(side * 1.6, page_width - 20)
    while size > 5 and pdfmetrics.stringWidth(short, LATIN, size) > room:
        size -= 0.5
    width = pdfmetrics.stringWidth(short, LATIN, size)
    left = min(max(x + side / 2 - width / 2, 10), page_width - 10 - width)
    c.setFont(LATIN, size)
    c.drawString(left, y - size * 1.3, short)


# -- what residents can do now -------------------------------------------------------------------


def local_time(value) -> str:
    if value is None:
        return ""
    t = timezone.localtime(value)
    return _("%(month)d/%(day)d/%(year)d %(hm)s") % {
        "year": t.year, "month": t.month, "day": t.day, "hm": f"{t:%H:%M}"}


@dataclass
class StageText:
    headline: str
    action: str
    until: str
    where: str
    who: str
    short_action: str


def _some(names: list[str], shown: int) -> str:
    """"甲、乙、丙等" when there are more names than ``shown``."""
    text = "、".join(names[:shown])
    return text + _(" and others") if len(names) > shown else text


def stage_text(cycle: Cycle, street=None) -> StageText:
    """What residents can do now, until when, where and who may: the words of poster and leaflet
    (for ``street``'s communities and polling points when given)."""
    kind = links.stage_kind(cycle)
    stage = cycle.current_stage
    age = int(cycle.config.get("min_voter_age", 15))
    communities = cycle.communities.order_by("name")
    if street is not None:
        communities = communities.filter(street=street)
    places = _some(list(communities.values_list("name", flat=True)), 12)
    who = _("Residents aged %(age)d or over who live, work or study in %(places)s.") % {
        "age": age, "places": places or cycle.district.name}
    texts = {
        "collect": (_("Tell us what your community needs"),
                    _("Propose a micro-project: what should be built, repaired or offered near you."),
                    _("Propose now")),
        "vote": (_("Vote for your community's projects"),
                 _("Choose the projects you want funded: one vote per person, online or at a polling point."),
                 _("Vote now")),
        "publish": (_("The results are out"),
                    _("See which projects won and how every ballot was counted."), _("Results published")),
        "reply": (_("The results are out"),
                  _("See which projects won; every proposer receives an answer."), _("Results published")),
        "implement": (_("Follow the work on the winning projects"),
                      _("See the progress, the spending and the photos of every project."),
                      _("Projects under way")),
        "evaluate": (_("Rate the finished projects"),
                     _("Tell us how well each finished project was delivered."), _("Rate the projects")),
    }
    default = (_("Projects under review"),
               _("The proposals are being merged, screened and costed: see the projects."),
               _("Projects under review"))
    headline, action, short = texts.get(kind, default)
    until = ""
    if stage is not None and stage.closes_at:
        until = _("%(time)s (Beijing time)") % {"time": local_time(stage.closes_at)}
    elif stage is not None:
        until = _("When the stage “%(stage)s” ends; the dates are on the website.") % {"stage": stage.name}
    where = _("Scan the QR code with your phone, or open the link under it.")
    if kind == "vote":
        from civicbudget.voting.models import PollingStation

        stations = PollingStation.objects.filter(cycle=cycle, community__in=communities)
        names = list(stations.order_by("community__name", "name").values_list("name", flat=True)[:6])
        if names:
            where += " " + _("Or vote on paper at: %(places)s.") % {"places": _some(names, 5)}
    elif kind == "collect":
        where += " " + _("Or hand a proposal to your community office.")
    return StageText(headline=headline, action=action, until=until, where=where, who=who,
                     short_action=short)


# -- points ------------------------------------------------------------------------------------


def _default_point(cycle: Cycle, channel: str, suffix: str = "", place: str = "") -> OutreachPoint:
    code = f"c{cycle.pk}-{channel.replace('_', '-')}{'-' + suffix if suffix else ''}"[:40]
    with transaction.atomic():
        point, _created = OutreachPoint.objects.get_or_create(
            code=code, defaults={"cycle": cycle, "channel": channel, "place": place[:100]})
    return point


def kit_points(cycle: Cycle) -> dict[str, list[OutreachPoint]]:
    """The points the kit prints for: each poster and leaflet point the officers entered (one
    of each made, at no cost, when there is none), one point per ballot's board, and one for the
    official account and the SMS texts."""
    entered = list(OutreachPoint.objects.filter(cycle=cycle))
    by_channel: dict[str, list[OutreachPoint]] = {}
    for channel in (OutreachChannel.POSTER, OutreachChannel.LEAFLET, OutreachChannel.OFFICIAL_ACCOUNT,
                    OutreachChannel.SMS):
        mine = [p for p in entered if p.channel == channel]
        by_channel[channel] = mine or [_default_point(cycle, channel)]
    return by_channel


# -- ballots for the boards --------------------------------------------------------------------


@dataclass
class BoardProject:
    name: str
    cost_yuan: int
    place: str
    description: str
    photo: str = ""  # a file path, when the project has a photo


@dataclass
class Board:
    key: str
    title: str
    budget_yuan: int
    how_to_vote: str
    projects: list[BoardProject] = field(default_factory=list)


def _how_to_vote(spec: dict) -> str:
    vote_type = spec.get("vote_type")
    if spec.get("max_sum_cost"):
        return _("Tick the projects you want; together they may cost at most %(budget)s yuan.") % {
            "budget": f"{int(float(spec['max_sum_cost'])):,}"}
    if vote_type == "cumulative" and spec.get("max_sum_points"):
        return _("Share %(points)d points among the projects you want.") % {"points": spec["max_sum_points"]}
    if vote_type == "ordinal":
        return _("Rank the projects you want, most wanted first.")
    if spec.get("max_length"):
        return _("Tick up to %(n)d projects you want.") % {"n": spec["max_length"]}
    return _("Tick every project you want.")


def _in_street(key: str, street) -> bool:
    if street is None:
        return True
    level, _sep, ident = key.partition(":")
    if level == "street":
        return ident == str(street.pk)
    return street.communities.filter(pk=int(ident) if ident.isdigit() else 0).exists()


def ballot_boards(cycle: Cycle, street=None) -> list[Board]:
    """A board per ballot (of ``street`` and its communities when given): the frozen ballots
    once voting opened, else the ballots as prepared."""
    from civicbudget.proposals.models import Project, Proposal
    from civicbudget.voting.models import VotingScope

    scopes = [{"key": s.key, "title": s.title, "spec": s.spec}
              for s in VotingScope.objects.filter(cycle=cycle).exclude(key__startswith="division:").order_by("key")]
    if not scopes:
        from civicbudget.deliberation.selectors import voting_ballots

        scopes = [{"key": b["key"], "title": b["title"], "spec": b["spec"]} for b in voting_ballots(cycle)]
    boards = []
    for scope in scopes:
        if not _in_street(scope["key"], street):
            continue
        spec = scope["spec"]
        ids = [int(p["id"]) for p in spec["projects"] if str(p["id"]).isdigit()]
        projects = {p.pk: p for p in Project.objects.filter(pk__in=ids).select_related("street", "community")}
        photos: dict[int, str] = {}
        addresses: dict[int, str] = {}
        for pid, photo, address in (Proposal.objects.filter(project_id__in=ids).order_by("submitted_at", "id")
                                    .values_list("project_id", "photo", "address")):
            if photo and pid not in photos:
                photos[pid] = photo
            if address and pid not in addresses:
                addresses[pid] = address
        items = []
        for p in spec["projects"]:
            project = projects.get(int(p["id"])) if str(p["id"]).isdigit() else None
            place = ""
            if project is not None:
                place = project.place.name + (f" · {addresses[project.pk]}" if project.pk in addresses else "")
            items.append(BoardProject(
                name=p.get("name") or (project.name if project else str(p["id"])),
                cost_yuan=int(float(p["cost"])), place=place,
                description=(project.description if project and project.description else ""),
                photo=_photo_path(photos.get(project.pk)) if project else ""))
        boards.append(Board(key=scope["key"], title=scope["title"], budget_yuan=int(float(spec["budget"])),
                            how_to_vote=_how_to_vote(spec), projects=items))
    return boards


def _photo_path(name: str | None) -> str:
    if not name:
        return ""
    from django.core.files.storage import default_storage

    try:
        path = Path(default_storage.path(name))
    except NotImplementedError:
        return ""
    return str(path) if path.is_file() else ""


# -- the PDFs ----------------------------------------------------------------------------------


def cycle_heading(cycle: Cycle) -> str:
    """"美兰区 · 2018年微实事", without the district twice when the cycle's name starts with it."""
    if cycle.name.startswith(cycle.district.name):
        return cycle.name
    return f"{cycle.district.name} · {cycle.name}"


def _new(pagesize, title: str) -> tuple[io.BytesIO, canvas.Canvas]:
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=pagesize, pageCompression=0)
    c.setTitle(title)
    c.setAuthor("civicbudget")
    return buffer, c


def notice_pdf(cycle: Cycle, text: StageText, url: str, short: str, pagesize) -> bytes:
    """A poster (A3) or a leaflet (A5): the same layout, scaled to the paper."""
    width, height = pagesize
    k = width / A3[0]  # 1 on A3, 0.5 on A5
    margin = 50 * k
    inner = width - 2 * margin
    buffer, c = _new(pagesize, f"{cycle.name} · {text.headline}")
    c.setFillColorRGB(0.75, 0.1, 0.1)
    c.rect(0, height - 150 * k, width, 150 * k, stroke=0, fill=1)
    c.setFillColorRGB(1, 1, 1)
    draw_block(c, cycle_heading(cycle), margin, height - 30 * k, inner, 100 * k,
               size=44 * k, floor=20 * k, centred=True)
    c.setFillColorRGB(0, 0, 0)
    y = draw_block(c, text.headline, margin, height - 190 * k, inner, 150 * k, size=64 * k, floor=30 * k,
                   centred=True)
    qr_side = 300 * k
    body_bottom = margin + qr_side + 60 * k
    y -= 20 * k
    rows = [(_("What you can do"), text.action), (_("Until when"), text.until),
            (_("Where"), text.where), (_("Who may take part"), text.who)]
    rows = [(label, value) for label, value in rows if value]
    # Longer answers get more room, so one long list of places does not shrink to a whisper.
    weights = [2 + len(value) / 40 for _label, value in rows]
    total = y - body_bottom
    for (label, value), weight in zip(rows, weights, strict=True):
        slot = total * weight / sum(weights)
        c.setFillColorRGB(0.75, 0.1, 0.1)
        c.setFont(FONT, 26 * k)
        c.drawString(margin, y - 26 * k, label)
        c.setFillColorRGB(0, 0, 0)
        draw_block(c, value, margin, y - 40 * k, inner, slot - 50 * k, size=28 * k, floor=12 * k)
        y -= slot
    draw_qr(c, url, short, (width - qr_side) / 2, margin + 30 * k, qr_side, width)
    c.showPage()
    c.save()
    return buffer.getvalue()


#: The smallest cell a project gets on a board before a second board is started (points).
MIN_CELL_HEIGHT = 200.0
MAX_COLUMNS = 4


def board_layout(n: int, avail_height: float) -> tuple[int, int, int]:
    """Return (columns, rows per board, boards) for ``n`` projects: more columns before smaller
    cells, a second board before cells under ``MIN_CELL_HEIGHT``."""
    n = max(n, 1)
    for columns in range(1, MAX_COLUMNS + 1):
        rows = math.ceil(n / columns)
        if avail_height / rows >= max(MIN_CELL_HEIGHT, 360.0 / columns):
            return columns, rows, 1
    rows = int(avail_height // MIN_CELL_HEIGHT)
    per_board = rows * MAX_COLUMNS
    return MAX_COLUMNS, rows, math.ceil(n / per_board)


def board_pdf(cycle: Cycle, board: Board, url: str, short: str) -> bytes:
    """The display board (展板) of one ballot on A1: every project with its cost, place,
    description and photo, and how to vote. Many projects: more columns, then more boards."""
    width, height = A1
    margin = 70
    inner = width - 2 * margin
    header, footer = 330, 380
    avail = height - header - footer - margin
    columns, rows, pages = board_layout(len(board.projects), avail)
    per_page = columns * rows
    gap = 16
    cell_w = (inner - gap * (columns - 1)) / columns
    cell_h = avail / rows
    buffer, c = _new(A1, f"{cycle.name} · {board.title}")
    for page in range(pages):
        chunk = board.projects[page * per_page:(page + 1) * per_page]
        c.setFillColorRGB(0.1, 0.3, 0.6)
        c.rect(0, height - 200, width, 200, stroke=0, fill=1)
        c.setFillColorRGB(1, 1, 1)
        title = _("%(ballot)s · projects on the ballot") % {"ballot": board.title}
        if pages > 1:
            title += f" ({page + 1}/{pages})"
        draw_block(c, cycle_heading(cycle), margin, height - 30, inner, 60,
                   size=44, floor=24, centred=True)
        draw_block(c, title, margin, height - 100, inner, 90, size=64, floor=30, centred=True)
        c.setFillColorRGB(0, 0, 0)
        draw_block(c, _("Budget of this ballot: %(budget)s yuan. %(n)d projects.") % {
            "budget": f"{board.budget_yuan:,}", "n": len(board.projects)},
            margin, height - 225, inner, 90, size=40, floor=20)
        top = height - header
        for i, project in enumerate(chunk):
            col, row = i % columns, i // columns
            x = margin + col * (cell_w + gap)
            y_top = top - row * cell_h
            _board_cell(c, page * per_page + i + 1, project, x, y_top, cell_w, cell_h - gap)
        # footer: how to vote and the QR code
        qr_side = 280
        c.setStrokeColorRGB(0.1, 0.3, 0.6)
        c.line(margin, footer + 10, width - margin, footer + 10)
        c.setFont(FONT, 40)
        c.drawString(margin, footer - 50, _("How to vote"))
        draw_block(c, board.how_to_vote + " " + _("Scan the QR code to vote online, or vote at a polling point "
                                                    "with your identity document."),
                   margin, footer - 70, inner - qr_side - 60, footer - margin - 70, size=36, floor=18)
        draw_qr(c, url, short, width - margin - qr_side, margin + 40, qr_side, width)
        c.showPage()
    c.save()
    return buffer.getvalue()


def _board_cell(c: canvas.Canvas, number: int, project: BoardProject, x: float, top: float,
                w: float, h: float) -> None:
    c.setStrokeColorRGB(0.6, 0.6, 0.6)
    c.roundRect(x, top - h, w, h, 8, stroke=1, fill=0)
    pad = 10
    text_x, text_w = x + pad, w - 2 * pad
    if project.photo and h >= 140:
        side = min(h - 2 * pad, w * 0.35)
        try:
            c.drawImage(ImageReader(project.photo), x + pad, top - pad - side, width=side, height=side,
                        preserveAspectRatio=True, anchor="c")
            text_x, text_w = x + 2 * pad + side, w - 3 * pad - side
        except OSError:
            pass  # an unreadable photo leaves the text the whole cell
    # Few projects, big cells: the type grows with the cell, up to what reads from 3 metres.
    name_h = min(h * 0.28, 150)
    y = draw_block(c, f"{number}. {project.name}", text_x, top - pad, text_w, name_h,
                   size=min(64.0, name_h * 0.7), floor=11)
    facts = _("Cost: %(cost)s yuan") % {"cost": f"{project.cost_yuan:,}"}
    if project.place:
        facts += " · " + _("Place: %(place)s") % {"place": project.place}
    rest = (top - pad - name_h) - (top - h + pad)
    facts_h = min(rest * 0.3, 110)
    y = draw_block(c, facts, text_x, y - 4, text_w, facts_h, size=min(44.0, facts_h * 0.6), floor=10)
    if project.description:
        left = y - (top - h + pad)
        if left > 10:
            draw_block(c, project.description, text_x, y - 4, text_w, left - 4,
                       size=min(40.0, max(20.0, h / 12)), floor=9)


# -- texts -------------------------------------------------------------------------------------


def announcement_text(cycle: Cycle, text: StageText, url: str, short: str, boards: list[Board]) -> str:
    """Plain text for an official account's post (no markup: pasted into any editor)."""
    lines = [cycle_heading(cycle), "", text.headline, "", text.action]
    for label, value in ((_("Until when"), text.until), (_("Who may take part"), text.who)):
        if value:
            lines += ["", f"{label}：{value}"]
    lines += ["", f"{_('Where')}：{text.where}", "", _("Take part: %(url)s") % {"url": url},
              _("Short link: %(url)s") % {"url": short}]
    if links.stage_kind(cycle) == "vote" and boards:
        lines += ["", _("Projects on the ballots")]
        for board in boards:
            lines += ["", f"{board.title}（{board.how_to_vote}）"]
            lines += [f"{i}. {p.name} — {p.cost_yuan:,} " + _("yuan") for i, p in enumerate(board.projects, 1)]
    return "\n".join(lines) + "\n"


def sms_text(cycle: Cycle, text: StageText, short: str) -> str:
    """One SMS of at most 70 characters (one segment), ending in the short link."""
    stage = cycle.current_stage
    until = ""
    if stage is not None and stage.closes_at:
        t = timezone.localtime(stage.closes_at)
        until = _("until %(month)d/%(day)d %(hm)s") % {"month": t.month, "day": t.day, "hm": f"{t:%H:%M}"}
    names = [cycle.name, cycle.district.name, ""]
    for name in names:
        for with_until in (True, False):
            head = f"【{name}】" if name else ""
            body = text.short_action + (("，" + until) if with_until and until else "")
            message = f"{head}{body}：{short}"
            if len(message) <= SMS_SEGMENT:
                return message
    # A site address too long for any wording: the link alone, never a cut link.
    return short


# -- the kit -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KitFile:
    name: str
    data: bytes
    qr_urls: tuple[str, ...] = ()


def kit_files(cycle: Cycle, base_url: str, street=None) -> list[KitFile]:
    """Every file of the cycle's kit, in Chinese, for the running stage (the boards of
    ``street`` only, when given)."""
    cycle = Cycle.objects.select_related("district").prefetch_related("stages").get(pk=cycle.pk)
    with translation.override("zh-hans"):
        text = stage_text(cycle, street)
        points = kit_points(cycle)
        files = []
        for kind, pagesize in ((OutreachChannel.POSTER, A3), (OutreachChannel.LEAFLET, A5)):
            for point in points[kind]:
                url = links.tracked_url(base_url, cycle, point.code)
                short = links.short_url(base_url, point.code)
                files.append(KitFile(f"{kind}-{point.code}.pdf",
                                     notice_pdf(cycle, text, url, short, pagesize), (url,)))
        boards = ballot_boards(cycle, street)
        for board in boards:
            slug = board.key.replace(":", "-")
            point = _default_point(cycle, OutreachChannel.BOARD, slug, place=board.title)
            url = links.tracked_url(base_url, cycle, point.code)
            short = links.short_url(base_url, point.code)
            files.append(KitFile(f"board-{slug}.pdf", board_pdf(cycle, board, url, short), (url,)))
        account = points[OutreachChannel.OFFICIAL_ACCOUNT][0]
        files.append(KitFile("announcement.txt", announcement_text(
            cycle, text, links.tracked_url(base_url, cycle, account.code),
            links.short_url(base_url, account.code), boards).encode()))
        sms = points[OutreachChannel.SMS][0]
        files.append(KitFile("sms.txt", (sms_text(cycle, text, links.short_url(base_url, sms.code)) + "\n")
                             .encode()))
    return files


def kit_write(cycle: Cycle, out_dir: Path, base_url: str, street=None) -> list[Path]:
    """Write the kit into ``out_dir`` (created if missing); return the paths written."""
    files = kit_files(cycle, base_url, street)  # everything drawn before anything is written
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for f in files:
        path = out_dir / f.name
        path.write_bytes(f.data)
        written.append(path)
    return written


def kit_zip(cycle: Cycle, base_url: str, street=None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for f in kit_files(cycle, base_url, street):
            archive.writestr(f.name, f.data)
    return buffer.getvalue()
