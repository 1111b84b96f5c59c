"""Read scanned ballot sheets: load the pages, align them, decode the sheet id, measure boxes.

Each page is aligned on its four registration marks (OpenCV contours, then a homography onto
the layout's millimetres), so a few degrees of rotation, any resolution from 150 to 300 dpi
and a sheet fed upside down all land on the same grid. The sheet id is the QR code (zxing-cpp).
Each box is measured inside its printed border (the border itself never counts) and beside it,
then classified by :func:`classify` with thresholds chosen from ``benchmarks/paper_ballots.py``.

Every input is bounded: file size, pages per PDF, pixels per page, checked from the headers
before anything is decoded. Plain Python (numpy, OpenCV, zxing-cpp, pypdfium2), no Django.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from civicbudget.paper import layout

MAX_FILE_BYTES = 60 * 1024 * 1024
MAX_PDF_PAGES = 1000
MAX_PIXELS = 40_000_000  # an A4 page at 600 dpi is 34.8 million
MIN_SIDE = 600  # below ~70 dpi no box can be measured
PDF_DPI = 200
PX_PER_MM = 8.0  # the aligned image: 203 dpi

# Box classification, from the benchmark (docs/paper-ballots.md explains them).
MARK_DARK = 0.12  # share of the interior clearly inked: a mark
LIGHT_INK = 0.035  # mean ink over the interior: something is there (faint, erased)
LIGHT_DARK = 0.015
HALO_DARK = 0.04  # a mark beside the box


class ScanFileError(Exception):
    """A file that cannot be read at all (not a scan, too big, too many pages)."""


@dataclass(frozen=True)
class Measure:
    project: str
    dark: float  # share of interior pixels at least half black
    ink: float  # mean darkness of the interior, 0 (paper) to 1 (black)
    halo: float  # share of dark pixels beside the box

    @property
    def state(self) -> str:
        return classify(self)


def classify(m: Measure) -> str:
    """Return "marked", "blank" or "ambiguous" for one box.

    Ambiguous is anything more than clean paper that is not clearly a mark: a faint or erased
    mark, a dot, or a mark next to the box. Nothing inked is silently blank.
    """
    if m.dark >= MARK_DARK:
        return "marked"
    if m.ink >= LIGHT_INK or m.dark >= LIGHT_DARK or m.halo >= HALO_DARK:
        return "ambiguous"
    return "blank"


@dataclass
class Page:
    """One page as read: the aligned image (None when unreadable) and the sheet id."""

    page: int
    aligned: np.ndarray | None
    sheet: str | None
    problem: str | None  # "unreadable" when marks or the QR code are missing

    def measure(self, boxes: list[layout.Box]) -> list[Measure]:
        if self.aligned is None:
            raise ValueError("an unreadable page has no boxes to measure")
        return measure(self.aligned, boxes)


# -- loading --------------------------------------------------------------------------------


def _kind(data: bytes) -> str:
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    raise ScanFileError("not a PDF, PNG or JPEG file")


def _image_size(data: bytes, kind: str) -> tuple[int, int]:
    """Width and height from the header, without decoding (or trusting a decoder with) pixels."""
    if kind == "png":
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise ScanFileError("not a readable PNG (no image header)")
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    # JPEG: walk the segments to the first start-of-frame marker.
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            raise ScanFileError("not a readable JPEG (damaged segments)")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    raise ScanFileError("not a readable JPEG (no image header)")


def load_pages(data: bytes, *, max_pages: int = MAX_PDF_PAGES) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (page number from 1, grayscale image) of a PDF, PNG or JPEG file's bytes."""
    if len(data) > MAX_FILE_BYTES:
        raise ScanFileError(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    kind = _kind(data)
    if kind == "pdf":
        yield from _pdf_pages(data, max_pages)
        return
    width, height = _image_size(data, kind)
    _check_pixels(width, height)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise ScanFileError("the image data is damaged")
    yield 1, image


def _check_pixels(width: float, height: float) -> None:
    if width * height > MAX_PIXELS:
        raise ScanFileError(f"a page of {int(width)}×{int(height)} pixels is larger than "
                            f"{MAX_PIXELS // 1_000_000} million pixels")
    if min(width, height) < MIN_SIDE:
        raise ScanFileError(f"a page of {int(width)}×{int(height)} pixels is too small to read "
                            "(scan at 150 to 300 dpi)")


def _pdf_pages(data: bytes, max_pages: int) -> Iterator[tuple[int, np.ndarray]]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise ScanFileError(f"not a readable PDF ({exc})") from None
    try:
        if len(pdf) == 0:
            raise ScanFileError("the PDF has no pages")
        if len(pdf) > max_pages:
            raise ScanFileError(f"the PDF has {len(pdf)} pages; at most {max_pages} per file")
        scale = PDF_DPI / 72
        for index in range(len(pdf)):
            page = pdf[index]
            try:
                w, h = page.get_size()
                _check_pixels(w * scale, h * scale)
                bitmap = page.render(scale=scale, grayscale=True)
                image = bitmap.to_numpy()
                image = image[:, :, 0] if image.ndim == 3 else image
                yield index + 1, np.ascontiguousarray(image)
            finally:
                page.close()
    finally:
        pdf.close()


# -- alignment ------------------------------------------------------------------------------


def _mark_candidates(gray: np.ndarray, px_mm: float) -> list[tuple[float, float]]:
    """Centres (in ``gray``'s pixels) of solid dark squares the size of a registration mark."""
    _, bw = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    contours, _ = cv2.findContours(bw, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    side = layout.MARK_MM * px_mm
    found = []
    for contour in contours:
        area = cv2.contourArea(contour)
        if not (0.45 * side * side <= area <= 1.8 * side * side):
            continue
        (cx, cy), (w, h), _angle = cv2.minAreaRect(contour)
        if min(w, h) <= 0 or max(w, h) / min(w, h) > 1.3:
            continue
        if area / (w * h) < 0.8:  # a box with a tick is not solid
            continue
        x, y, bw_, bh_ = cv2.boundingRect(contour)
        if bw[y:y + bh_, x:x + bw_].mean() < 0.7 * 255:
            continue
        found.append((cx, cy))
    return found


def _corners(points: list[tuple[float, float]], width: int, height: int) -> np.ndarray | None:
    """The candidate nearest each page corner (TL, TR, BR, BL), within a fifth of the page."""
    if len(points) < 4:
        return None
    pts = np.array(points, dtype=np.float32)
    corners = np.array([(0, 0), (width, 0), (width, height), (0, height)], dtype=np.float32)
    chosen = []
    reach = 0.2 * np.hypot(width, height)
    for corner in corners:
        d = np.hypot(*(pts - corner).T)
        i = int(np.argmin(d))
        if d[i] > reach:
            return None
        chosen.append(pts[i])
    if len({tuple(p) for p in chosen}) < 4:
        return None
    return np.array(chosen, dtype=np.float32)


def align(gray: np.ndarray) -> np.ndarray | None:
    """Warp a scanned page onto the layout's grid (``PX_PER_MM``); None without four marks."""
    height, width = gray.shape[:2]
    if width > height:  # fed sideways: the marks still sit in the corners after a quarter turn
        gray = cv2.rotate(gray, cv2.ROTATE_90_CLOCKWISE)
        height, width = width, height
    px_mm = width / layout.PAGE_MM[0]
    # Contours on a ~4 px/mm copy: the marks stay 32 px wide and the search is 4-16× cheaper.
    shrink = min(1.0, 4.0 / px_mm)
    small = cv2.resize(gray, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA) if shrink < 1 else gray
    found = _corners(_mark_candidates(small, px_mm * shrink), small.shape[1], small.shape[0])
    if found is None:
        return None
    src = found / shrink
    dst = np.array(layout.mark_centres(), dtype=np.float32) * PX_PER_MM
    matrix = cv2.getPerspectiveTransform(src.astype(np.float32), dst)
    size = (int(layout.PAGE_MM[0] * PX_PER_MM), int(layout.PAGE_MM[1] * PX_PER_MM))
    return cv2.warpPerspective(gray, matrix, size, flags=cv2.INTER_LINEAR, borderValue=255)


def _decode_qr(image: np.ndarray) -> str | None:
    import zxingcpp

    for result in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
        if result.valid and result.text:
            return result.text
    return None


def sheet_id(aligned: np.ndarray) -> tuple[str | None, np.ndarray]:
    """Decode the sheet id where the layout prints it; try the sheet upside down too.

    Return the id (None when unreadable) and the aligned image the right way up.
    """
    x, y, side = layout.QR_MM
    pad = 4
    for image in (aligned, None):
        if image is None:
            image = cv2.rotate(aligned, cv2.ROTATE_180)
        crop = image[int((y - pad) * PX_PER_MM):int((y + side + pad) * PX_PER_MM),
                     int((x - pad) * PX_PER_MM):int((x + side + pad) * PX_PER_MM)]
        text = _decode_qr(crop)
        if text:
            return text, image
    return None, aligned


def read_page(gray: np.ndarray, page: int = 1) -> Page:
    aligned = align(gray)
    if aligned is None:
        return Page(page, None, None, "unreadable")
    text, aligned = sheet_id(aligned)
    if text is None:
        return Page(page, aligned, None, "unreadable")
    return Page(page, aligned, text, None)


# -- measuring ------------------------------------------------------------------------------


def _region(d: np.ndarray, x: float, y: float, w: float, h: float) -> np.ndarray:
    s = PX_PER_MM
    return d[int(round(y * s)):int(round((y + h) * s)), int(round(x * s)):int(round((x + w) * s))]


def measure(aligned: np.ndarray, boxes: list[layout.Box]) -> list[Measure]:
    """Measure each box's interior (1 mm inside the printed border) and its sides."""
    # Paper white from the page itself, so a grey scan or a toner-light print reads the same.
    white = float(np.percentile(aligned[::8, ::8], 90)) or 255.0
    darkness = np.clip((white - aligned.astype(np.float32)) / white, 0.0, 1.0)
    result = []
    inset = 1.0
    gap, halo = layout.HALO_GAP_MM, layout.HALO_MM
    for b in boxes:
        inner = _region(darkness, b.x + inset, b.y + inset, b.w - 2 * inset, b.h - 2 * inset)
        left = _region(darkness, b.x - gap - halo, b.y, halo, b.h)
        right = _region(darkness, b.x + b.w + gap, b.y, halo, b.h)
        sides = max(float((left > 0.5).mean()), float((right > 0.5).mean()))
        result.append(Measure(b.project, float((inner > 0.5).mean()), float(inner.mean()), sides))
    return result


SNAPSHOT_PX_PER_MM = 6.0


def snapshot(aligned: np.ndarray) -> bytes:
    """The aligned page as a JPEG at 6 px/mm: what the adjudication page shows."""
    f = SNAPSHOT_PX_PER_MM / PX_PER_MM
    small = cv2.resize(aligned, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    return cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def snapshot_raw(gray: np.ndarray) -> bytes:
    """A page that could not be aligned, as scanned, at about the same size."""
    f = min(1.0, layout.PAGE_MM[0] * SNAPSHOT_PX_PER_MM / max(1, min(gray.shape[:2])))
    small = cv2.resize(gray, None, fx=f, fy=f, interpolation=cv2.INTER_AREA) if f < 1 else gray
    return cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


def outlined(jpeg: bytes, boxes: list[layout.Box], states: dict[str, str]) -> tuple[bytes, bytes | None]:
    """JPEGs of a snapshot with each box outlined in the colour of its reading: the whole
    sheet, and the rows of boxes at full size (None without boxes)."""
    colour = {"marked": (0, 140, 0), "ambiguous": (0, 140, 255), "blank": (150, 150, 150)}
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    s = SNAPSHOT_PX_PER_MM
    for b in boxes:
        c = colour.get(states.get(b.project, "blank"), (0, 0, 255))
        cv2.rectangle(image, (int((b.x - 1.5) * s), int((b.y - 1.5) * s)),
                      (int((b.x + b.w + 1.5) * s), int((b.y + b.h + 1.5) * s)), c, 3)
    whole = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
    if not boxes:
        return whole, None
    top = max(0, int((min(b.y for b in boxes) - 4) * s))
    bottom = int((max(b.y + b.h for b in boxes) + 4) * s)
    rows = image[top:bottom, int(12 * s):int((layout.PAGE_MM[0] - 12) * s)]
    return whole, cv2.imencode(".jpg", rows, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
