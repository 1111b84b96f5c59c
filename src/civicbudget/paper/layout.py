"""Where everything sits on a ballot sheet, in millimetres from the page's top-left corner.

Printing and reading share these numbers: the printer draws at them, the reader maps the
scan onto them through the four registration marks. Plain Python, no Django.
"""

from __future__ import annotations

from dataclasses import dataclass

PAGE_MM = (210.0, 297.0)
# Solid squares in the corners, well inside any printer's unprintable margin.
MARK_MM = 8.0
MARK_INSET_MM = 8.0
QR_MM = (166.0, 20.0, 28.0)  # x, y, side (quiet zone included)
BOX_MM = 6.0
BOX_X_MM = 24.0
TEXT_X_MM = 36.0
COST_RIGHT_MM = 188.0
ROWS_TOP_MM = 74.0
ROWS_BOTTOM_MM = 272.0
ROW_PITCH_MM = (11.0, 8.0)  # preferred, smallest
# Beside a box (left and right, never over a neighbour): a mark here is "next to the box".
HALO_GAP_MM = 1.0
HALO_MM = 4.0


def mark_centres() -> list[tuple[float, float]]:
    """Centres of the registration marks: top-left, top-right, bottom-right, bottom-left."""
    w, h = PAGE_MM
    c = MARK_INSET_MM + MARK_MM / 2
    return [(c, c), (w - c, c), (w - c, h - c), (c, h - c)]


def max_projects() -> int:
    return int((ROWS_BOTTOM_MM - ROWS_TOP_MM) // ROW_PITCH_MM[1])


@dataclass(frozen=True)
class Box:
    project: str
    x: float
    y: float
    w: float = BOX_MM
    h: float = BOX_MM

    def as_json(self) -> dict:
        return {"project": self.project, "x": round(self.x, 2), "y": round(self.y, 2),
                "w": self.w, "h": self.h}


def row_pitch(n_projects: int) -> float:
    """The row height for ``n_projects`` rows; raise ValueError when they cannot fit."""
    if n_projects < 1 or n_projects > max_projects():
        raise ValueError(f"a sheet holds 1 to {max_projects()} projects, not {n_projects}")
    return max(ROW_PITCH_MM[1], min(ROW_PITCH_MM[0], (ROWS_BOTTOM_MM - ROWS_TOP_MM) / n_projects))


def boxes_for(project_ids: list[str]) -> list[Box]:
    """The mark boxes of a sheet listing these projects, in order."""
    pitch = row_pitch(len(project_ids))
    return [Box(pid, BOX_X_MM, ROWS_TOP_MM + i * pitch) for i, pid in enumerate(project_ids)]


def boxes_from_json(items: list[dict]) -> list[Box]:
    return [Box(str(b["project"]), float(b["x"]), float(b["y"]), float(b["w"]), float(b["h"]))
            for b in items]
