"""Printable A4 letters (PDF) for proposers answered by post.

reportlab draws the text with its built-in CID font STSong-Light, which every PDF reader
maps to a Song typeface: no font file ships with the package and the PDF stays small
(docs/decisions/0007-letters-reportlab.md). A batch is one PDF with one page per letter, so
a community office prints its whole pile at once; the heavy part (the letterhead) is drawn
once as a form and reused by every page.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

WIDTH, HEIGHT = A4
MARGIN = 72
BODY_SIZE = 12
LEADING = 21
# Chinese characters are square: a line holds the text width over the font size.
CHARS_PER_LINE = int((WIDTH - 2 * MARGIN) // BODY_SIZE)


@dataclass(frozen=True)
class Letter:
    district: str
    heading: str
    address_lines: tuple[str, ...]
    text: str
    reference: str


def _wrap(paragraph: str, width: int = CHARS_PER_LINE) -> list[str]:
    if not paragraph:
        return [""]
    lines = []
    while paragraph:
        # Latin text counts about half a Chinese character.
        n, used = 0, 0.0
        while n < len(paragraph) and used + (1.0 if ord(paragraph[n]) > 0x2E80 else 0.55) <= width:
            used += 1.0 if ord(paragraph[n]) > 0x2E80 else 0.55
            n += 1
        lines.append(paragraph[:n])
        paragraph = paragraph[n:]
    return lines


def _page(c: canvas.Canvas, letter: Letter, form: str) -> None:
    c.doForm(form)
    c.setFont(FONT, 20)
    c.drawCentredString(WIDTH / 2, HEIGHT - 80, letter.district)
    c.setFont(FONT, 15)
    c.drawCentredString(WIDTH / 2, HEIGHT - 108, letter.heading)
    text = c.beginText(MARGIN, HEIGHT - 160)
    text.setFont(FONT, 10.5, 16)
    for line in letter.address_lines:
        text.textLine(line)
    text.textLine("")
    text.setFont(FONT, BODY_SIZE, LEADING)
    for paragraph in letter.text.split("\n"):
        for line in _wrap(paragraph):
            text.textLine(line)
    c.drawText(text)
    c.setFont(FONT, 9)
    c.drawString(MARGIN, 50, letter.reference)
    c.showPage()


def letters_pdf(letters: Iterable[Letter], *, title: str = "") -> bytes:
    """Return one A4 PDF with a page per letter."""
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4, pageCompression=0)
    c.setTitle(title)
    c.beginForm("letterhead")
    c.setLineWidth(1.2)
    c.line(MARGIN, HEIGHT - 122, WIDTH - MARGIN, HEIGHT - 122)
    c.line(MARGIN, 64, WIDTH - MARGIN, 64)
    c.endForm()
    for letter in letters:
        _page(c, letter, "letterhead")
    c.save()
    return buffer.getvalue()


def letter_pdf_naive(letter: Letter) -> bytes:
    """One letter per PDF, one ``drawString`` per line: the baseline the benchmark compares."""
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4)
    c.setFont(FONT, 20)
    c.drawCentredString(WIDTH / 2, HEIGHT - 80, letter.district)
    c.setFont(FONT, 15)
    c.drawCentredString(WIDTH / 2, HEIGHT - 108, letter.heading)
    y = HEIGHT - 160
    c.setFont(FONT, BODY_SIZE)
    for paragraph in letter.text.split("\n"):
        for line in _wrap(paragraph):
            c.drawString(MARGIN, y, line)
            y -= LEADING
    c.showPage()
    c.save()
    return buffer.getvalue()
