"""Voters' marks and scanners' flaws, drawn on rendered sheets: for the benchmark and the tests.

A sheet is rasterised from its PDF at a scanner's resolution, marked in pencil as voters do
(filled, tick, cross, faint, erased, beside the box, a stray scribble), then turned a little,
blurred, made noisy and saved as a JPEG or PNG. Plain Python, no Django.
"""

from __future__ import annotations

import numpy as np

from civicbudget.paper import layout

KINDS = ("fill", "tick", "cross", "faint", "faint_tick", "erasure", "outside")
CLEAR = ("fill", "tick", "cross")


def rasterise(pdf: bytes, dpi: int) -> list[np.ndarray]:
    """Each page of a PDF as a grayscale image at ``dpi`` (what a scanner sees of a clean sheet)."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        pages = []
        for index in range(len(document)):
            page = document[index]
            image = page.render(scale=dpi / 72, grayscale=True).to_numpy()
            pages.append(np.ascontiguousarray(image[:, :, 0] if image.ndim == 3 else image).copy())
            page.close()
        return pages
    finally:
        document.close()


def _pt(x_mm: float, y_mm: float, dpi: int) -> tuple[int, int]:
    f = dpi / 25.4
    return int(round(x_mm * f)), int(round(y_mm * f))


def mark(image: np.ndarray, box: layout.Box, kind: str, dpi: int, rng: np.random.Generator) -> None:
    """Draw one voter's mark of ``kind`` on (or beside) ``box``, in place."""
    import cv2

    f = dpi / 25.4
    x, y, w, h = box.x, box.y, box.w, box.h
    jitter = rng.uniform(-0.4, 0.4, size=8)
    pen = max(2, int(round(0.6 * f)))  # a pencil or ballpoint line, ~0.6 mm
    if kind == "fill":
        level = int(rng.integers(20, 70))
        pts = np.array([_pt(x + 0.6 + jitter[0], y + 0.7 + jitter[1], dpi),
                        _pt(x + w - 0.6 + jitter[2], y + 0.5, dpi),
                        _pt(x + w - 0.8, y + h - 0.6 + jitter[3], dpi),
                        _pt(x + 0.7 + jitter[4], y + h - 0.7, dpi)], np.int32)
        cv2.fillPoly(image, [pts], level)
    elif kind in ("tick", "faint_tick"):
        level = int(rng.integers(20, 80)) if kind == "tick" else int(rng.integers(150, 175))
        width = pen if kind == "tick" else max(1, int(round(0.35 * f)))
        pts = np.array([_pt(x + 1.0 + jitter[0], y + h * 0.55 + jitter[1], dpi),
                        _pt(x + w * 0.42 + jitter[2], y + h - 1.0 + jitter[3], dpi),
                        _pt(x + w - 0.6 + jitter[4], y + 0.8 + jitter[5], dpi)], np.int32)
        cv2.polylines(image, [pts], False, level, width, cv2.LINE_AA)
    elif kind == "cross":
        level = int(rng.integers(20, 80))
        cv2.line(image, _pt(x + 0.8 + jitter[0], y + 0.8, dpi), _pt(x + w - 0.8, y + h - 0.8 + jitter[1], dpi),
                 level, pen, cv2.LINE_AA)
        cv2.line(image, _pt(x + w - 0.8 + jitter[2], y + 0.8, dpi), _pt(x + 0.8, y + h - 0.8 + jitter[3], dpi),
                 level, pen, cv2.LINE_AA)
    elif kind == "faint":
        level = int(rng.integers(185, 205))  # a light pencil shading
        pts = np.array([_pt(x + 1.0, y + 1.0, dpi), _pt(x + w - 1.2, y + 1.3, dpi),
                        _pt(x + w - 1.0, y + h - 1.1, dpi), _pt(x + 1.3, y + h - 1.0, dpi)], np.int32)
        cv2.fillPoly(image, [pts], level)
    elif kind == "erasure":
        # What a rubber leaves of a filled box: a grey smudge and a trace of the stroke.
        level = int(rng.integers(205, 225))
        pts = np.array([_pt(x + 0.9, y + 1.0, dpi), _pt(x + w - 1.0, y + 0.9, dpi),
                        _pt(x + w - 0.9, y + h - 1.0, dpi), _pt(x + 1.0, y + h - 0.9, dpi)], np.int32)
        cv2.fillPoly(image, [pts], level)
        cv2.line(image, _pt(x + 1.2, y + h * 0.6, dpi), _pt(x + w - 1.5, y + h * 0.35, dpi),
                 int(rng.integers(175, 195)), max(1, int(round(0.3 * f))), cv2.LINE_AA)
    elif kind == "outside":
        # A tick just left of the box instead of inside it.
        left = x - layout.HALO_GAP_MM - layout.HALO_MM + 0.5
        pts = np.array([_pt(left, y + h * 0.5, dpi), _pt(left + 1.3, y + h - 0.8, dpi),
                        _pt(left + 3.2, y + 0.6, dpi)], np.int32)
        cv2.polylines(image, [pts], False, int(rng.integers(20, 80)), pen, cv2.LINE_AA)
    else:
        raise ValueError(f"unknown mark {kind!r}")


def stray(image: np.ndarray, dpi: int, rng: np.random.Generator) -> None:
    """A scribble in the right-hand margin, away from every box (a voter testing the pen)."""
    import cv2

    x0, y0 = 150 + rng.uniform(0, 20), 120 + rng.uniform(0, 100)
    pts = np.array([_pt(x0 + dx, y0 + dy, dpi) for dx, dy in
                    [(0, 0), (4, 3), (2, 7), (8, 6), (6, 12)]], np.int32)
    cv2.polylines(image, [pts], False, 40, max(2, int(round(0.5 * dpi / 25.4))), cv2.LINE_AA)


def scan(image: np.ndarray, *, angle: float, rng: np.random.Generator, blur: float = 0.0,
         noise: float = 0.0, jpeg: int | None = None) -> bytes:
    """What the scanner writes: the page turned by ``angle`` degrees, blurred, noisy, encoded."""
    import cv2

    h, w = image.shape
    matrix = cv2.getRotationMatrix2D((w / 2 + rng.uniform(-20, 20), h / 2 + rng.uniform(-20, 20)), angle, 1.0)
    out = cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=245)
    if blur:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    if noise:
        out = np.clip(out.astype(np.float32) + rng.normal(0, noise, out.shape), 0, 255).astype(np.uint8)
    if jpeg:
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, jpeg])
    else:
        ok, data = cv2.imencode(".png", out)
    if not ok:
        raise ValueError("the scan could not be encoded")
    return data.tobytes()
