"""Cycle templates, shipped as data (``data/templates.json``): one per model of the source document."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils.translation import get_language

from civicbudget.cycles.stages import KIND_ACTIONS

TEMPLATES_FILE = Path(__file__).with_name("data") / "templates.json"


@dataclass(frozen=True)
class StageSpec:
    kind: str
    name: str
    name_en: str
    days: int
    #: When the source model ran this step ("2017-10/2017-11"), for reference only: a cycle
    #: plans its own windows from its start date and ``days``.
    dates: str = ""

    @property
    def display_name(self) -> str:
        return self.name_en if _english() else self.name


@dataclass(frozen=True)
class CycleTemplate:
    key: str
    name: str
    name_en: str
    source: str
    source_zh: str
    config: dict
    stages: tuple[StageSpec, ...]

    @property
    def display_name(self) -> str:
        return self.name_en if _english() else self.name

    @property
    def display_source(self) -> str:
        return self.source if _english() or not self.source_zh else self.source_zh


def _english() -> bool:
    # Templates ship both languages side by side, like a cycle's name and name_en.
    return (get_language() or "").startswith("en")


@cache
def templates() -> dict[str, CycleTemplate]:
    """Return every shipped template by key, checked against the stage-kind table."""
    raw = json.loads(TEMPLATES_FILE.read_text(encoding="utf-8"))
    result = {}
    for key, spec in raw.items():
        stages = tuple(StageSpec(**s) for s in spec["stages"])
        unknown = [s.kind for s in stages if s.kind not in KIND_ACTIONS]
        if unknown:
            raise ValueError(f"template {key}: unknown stage kinds {unknown}")
        result[key] = CycleTemplate(
            key=key, name=spec["name"], name_en=spec["name_en"], source=spec.get("source", ""),
            source_zh=spec.get("source_zh", ""),
            config=spec.get("config", {}), stages=stages,
        )
    return result
