"""What a rule returns: the winners, their cost, the ties broken and a per-project explanation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class TieBreak:
    """A tie the rule had to break: at ``stage``, ``tied`` projects were equal; ``chosen`` won."""

    stage: str
    tied: tuple[str, ...]
    chosen: str


@dataclass(frozen=True)
class ProjectExplanation:
    """Why a project was selected or not.

    ``reason`` is a short code (``selected``, ``does-not-fit``, ``not-affordable``,
    ``no-support``, ``below-threshold``, ``stopped``, ``not-in-optimum``); ``details`` holds the
    figures behind it (round, rank, votes, budget left, prices paid, what was missing).
    """

    project_id: str
    selected: bool
    reason: str
    details: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Outcome:
    """The result of a rule on an election.

    ``winners`` are in the order the rule selected them; ``explanations`` follow the file's
    project order.
    """

    rule: str
    winners: tuple[str, ...]
    total_cost: Fraction
    budget: Fraction
    explanations: tuple[ProjectExplanation, ...] = ()
    ties: tuple[TieBreak, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    info: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def winner_set(self) -> frozenset[str]:
        """Return the winners as a set."""
        return frozenset(self.winners)
