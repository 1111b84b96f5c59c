"""The whole audit in one function: rounds of picks, comparisons and evaluations.

The platform runs the same steps one at a time (officers read sheets between them); this
function is the reference for re-checking a published audit and for the simulations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from civicbudget.rla.assertions import Assertion
from civicbudget.rla.risk import DEFAULT_RISK_LIMIT, Evaluation, evaluate, initial_sample_size
from civicbudget.rla.sampler import draw_sample

Sheet = frozenset[str] | None


@dataclass
class AuditRun:
    """The outcome of :func:`run_audit`: the last evaluation and the rounds' sizes."""

    evaluation: Evaluation
    rounds: list[int]

    @property
    def decision(self) -> str:
        return self.evaluation.decision


def run_audit(seed: str, manifest: Sequence[tuple[str, Sequence[int]]],
              record: Callable[[str, int], Sheet], read: Callable[[str, int], Sheet],
              assertions: Sequence[Assertion], *, risk_limit: float = DEFAULT_RISK_LIMIT,
              cap: int | None = None) -> AuditRun:
    """Run rounds until the outcome is confirmed or a full count is called for.

    ``record(box, number)``: the recorded ballot of a sheet; ``read(box, number)``: the
    sheet as the officers read it (None: not found).
    """
    paper = sum(len(numbers) for _box, numbers in manifest)
    pairs: list[tuple[Sheet, Sheet]] = []
    target = initial_sample_size(assertions, paper, risk_limit)
    rounds = []
    while True:
        if target > len(pairs):
            for d in draw_sample(seed, manifest, target - len(pairs), start=len(pairs)):
                pairs.append((record(d.box, d.number), read(d.box, d.number)))
            rounds.append(target)
        evaluation = evaluate(assertions, paper, pairs, risk_limit=risk_limit, cap=cap)
        if evaluation.decision != "continue":
            return AuditRun(evaluation, rounds)
        target = evaluation.next_size
