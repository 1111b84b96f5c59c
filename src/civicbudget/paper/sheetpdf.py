"""Draw ballot sheets as an A4 PDF with reportlab, one page per sheet id.

Text uses reportlab's built-in CID font STSong-Light, as the letters do
(docs/decisions/0007-letters-reportlab.md). The QR code is drawn as vector squares, so it
stays sharp at any printer resolution. Positions come from :mod:`civicbudget.paper.layout`.
Plain Python, no Django: the caller passes the sentences already translated.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import qrcode
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from civicbudget.paper import layout

FONT = "STSong-Light"
if FONT not in pdfmetrics.getRegisteredFontNames():
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))

PAGE_H = A4[1]


@dataclass(frozen=True)
class SheetText:
    """What every sheet of a batch says: titles, the rule, how to mark, the projects."""

    scope_title: str
    cycle_title: str
    rule: str
    how_to_mark: str
    projects: tuple[tuple[str, str, str], ...]  # (id, name, cost as printed)
    # Stakeholder weights: a sentence under "how to mark", and a label beside the projects
    # that serve a community ((id, label), e.g. "海达社区 · 一票计 2 票"). Empty: none.
    note: str = ""
    badges: tuple[tuple[str, str], ...] = ()


def _x(v: float) -> float:
    return v * mm


def _y(v: float) -> float:
    """Millimetres from the top to reportlab's points from the bottom."""
    return PAGE_H - v * mm


def _fit(text: str, size: float, width_mm: float) -> str:
    if pdfmetrics.stringWidth(text, FONT, size) <= width_mm * mm:
        return text
    while text and pdfmetrics.stringWidth(text + "…", FONT, size) > width_mm * mm:
        text = text[:-1]
    return text + "…"


def _is_cjk(ch: str) -> bool:
    return "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"


def _wrap(text: str, size: float, width_mm: float, lines: int) -> list[str]:
    """Break ``text`` into at most ``lines`` lines of ``width_mm`` (Chinese breaks anywhere,
    other text at spaces where it can); the last line ends in "…" if the text is longer."""
    out: list[str] = []
    rest = text.strip()
    while rest and len(out) < lines:
        if pdfmetrics.stringWidth(rest, FONT, size) <= width_mm * mm:
            out.append(rest)
            rest = ""
            break
        cut = 1
        while cut < len(rest) and pdfmetrics.stringWidth(rest[:cut + 1], FONT, size) <= width_mm * mm:
            cut += 1
        space = rest.rfind(" ", 0, cut + 1)
        if space > cut // 2 and not rest[cut:cut + 1].isspace() and not _is_cjk(rest[cut - 1]):
            cut = space
        # keep "3 票" together and punctuation off the start of a line
        for _i in range(4):
            if cut > 1 and (rest[cut - 1].isdigit() or rest[cut - 1] in " “（(" or rest[cut] in "，。；：、）)”"):
                cut -= 1
        out.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        out[-1] = _fit(out[-1] + rest, size, width_mm)
    return out


def qr_modules(data: str) -> list[list[bool]]:
    """The QR code of ``data`` (medium error correction) as rows of dark modules."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def _draw_qr(c: canvas.Canvas, data: str) -> None:
    x0, y0, side = layout.QR_MM
    matrix = qr_modules(data)
    module = side / len(matrix)
    c.setFillGray(0)
    for r, row in enumerate(matrix):
        col = 0
        while col < len(row):
            if not row[col]:
                col += 1
                continue
            start = col
            while col < len(row) and row[col]:
                col += 1
            # One rectangle per run of dark modules; a hair of overlap avoids white seams.
            c.rect(_x(x0 + start * module), _y(y0 + (r + 1) * module), (col - start) * module * mm + 0.1,
                   module * mm + 0.1, stroke=0, fill=1)


def _page(c: canvas.Canvas, text: SheetText, boxes: list[layout.Box], sheet_id: str) -> None:
    c.setFillGray(0)
    for cx, cy in layout.mark_centres():
        half = layout.MARK_MM / 2
        c.rect(_x(cx - half), _y(cy + half), layout.MARK_MM * mm, layout.MARK_MM * mm, stroke=0, fill=1)
    _draw_qr(c, sheet_id)
    c.setFont(FONT, 8)
    c.drawCentredString(_x(layout.QR_MM[0] + layout.QR_MM[2] / 2), _y(layout.QR_MM[1] + layout.QR_MM[2] + 3.5),
                        sheet_id)
    c.setFont(FONT, 18)
    c.drawString(_x(22), _y(30), _fit(text.scope_title, 18, 138))
    c.setFont(FONT, 11)
    c.drawString(_x(22), _y(38), _fit(text.cycle_title, 11, 138))
    c.setFont(FONT, 14)
    c.drawString(_x(22), _y(50), _fit(text.rule, 14, 138))
    c.setFont(FONT, 10)
    # How to mark, with a filled example box in front of the sentence. A stakeholder note
    # takes two lines below it; the header text moves up, the boxes never move.
    how_y, rule_y = (57.0, 70.5) if text.note else (60.0, 66.0)
    c.rect(_x(22), _y(how_y + 0.5), 4 * mm, 4 * mm, stroke=1, fill=1)
    c.drawString(_x(28), _y(how_y), _fit(text.how_to_mark, 10, 160))
    if text.note:
        c.setFont(FONT, 9)
        for i, line in enumerate(_wrap(text.note, 9, 166, 2)):
            c.drawString(_x(22), _y(63.0 + 4.2 * i), line)
    c.setLineWidth(0.4)
    c.line(_x(22), _y(rule_y), _x(188), _y(rule_y))
    names = {pid: (name, cost) for pid, name, cost in text.projects}
    badges = dict(text.badges)
    for box in boxes:
        name, cost = names[box.project]
        c.setLineWidth(1.0)
        c.rect(_x(box.x), _y(box.y + box.h), box.w * mm, box.h * mm, stroke=1, fill=0)
        base = box.y + box.h / 2 + 1.3
        c.setFont(FONT, 11)
        cost_w = pdfmetrics.stringWidth(cost, FONT, 11) / mm
        room = layout.COST_RIGHT_MM - layout.TEXT_X_MM - cost_w - 4  # name (and label) end here
        badge = badges.get(box.project)
        if badge:
            # The label in a thin frame after the name, as the online ballot's badge.
            badge = _fit(badge, 9, room / 2)
            badge_w = pdfmetrics.stringWidth(badge, FONT, 9) / mm
            shown = _fit(name, 11, room - badge_w - 4)
            c.drawString(_x(layout.TEXT_X_MM), _y(base), shown)
            bx = layout.TEXT_X_MM + pdfmetrics.stringWidth(shown, FONT, 11) / mm + 2.5
            c.setLineWidth(0.5)
            c.roundRect(_x(bx - 1), _y(base + 1.2), (badge_w + 2) * mm, 4.6 * mm, 1 * mm, stroke=1, fill=0)
            c.setFont(FONT, 9)
            c.drawString(_x(bx), _y(base - 0.1), badge)
            c.setFont(FONT, 11)
        else:
            c.drawString(_x(layout.TEXT_X_MM), _y(base), _fit(name, 11, min(118, room)))
        c.drawRightString(_x(layout.COST_RIGHT_MM), _y(base), cost)


def sheets_pdf(text: SheetText, sheet_ids: list[str]) -> tuple[bytes, dict]:
    """Return the PDF (one page per sheet id) and its layout (``OUT.layout.json``'s content)."""
    boxes = layout.boxes_for([pid for pid, _n, _c in text.projects])
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4, pageCompression=1)
    c.setTitle(text.scope_title)
    for sheet_id in sheet_ids:
        _page(c, text, boxes, sheet_id)
        c.showPage()
    c.save()
    pages = [{"sheet": s, "boxes": [b.as_json() for b in boxes]} for s in sheet_ids]
    return buffer.getvalue(), {"page_mm": list(layout.PAGE_MM), "pages": pages}
