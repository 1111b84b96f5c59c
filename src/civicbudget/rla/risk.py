"""The ballot-level comparison audit: overstatements, Kaplan-Markov p-values, escalation.

Only paper sheets can differ from their records (an online ballot is its own record), so
the audit's population is the N paper sheets of the scope. For an assertion with slack s
(votes) the outcome holds while Σ ω_i < s/2 over the paper sheets, where the
overstatement ω_i = a(record_i) − a(sheet_i) ∈ {−1, −½, 0, ½, 1}. With the diluted margin
v = s/N, the comparison assorter

    B_i = (1 − ω_i) / (2 − v)        (0 ≤ B_i ≤ 2/(2 − v))

has mean > ½ exactly when the assertion holds (SHANGRLA, Stark 2020, section 3.2). The
sample is drawn with replacement, so B_1, B_2, ... are independent with the population
mean; under the null (mean ≤ ½) the Kaplan-Markov product T_k = Π (B_i + g)/(½ + g) is a
non-negative supermartingale, and p = min(1, 1/max_k T_k) is a valid p-value at any
stopping time (Ville's inequality). g > 0 keeps one two-vote overstatement (B = 0) from
ending the audit at once. An assertion with s > 2N holds whatever the sheets say.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from civicbudget.rla.assertions import Assertion

DEFAULT_RISK_LIMIT = 0.05
DEFAULT_G = 0.1
#: Head-room over the error-free sample size when planning the first round.
FIRST_ROUND_INFLATION = 1.15
#: A later round grows the sample by at least this factor.
MIN_GROWTH = 1.5


def overstatement(assertion: Assertion, record: frozenset[str] | None,
                  sheet: frozenset[str] | None) -> Fraction:
    """Return ω = a(record) − a(sheet); a sheet not found in its box counts as a(sheet) = 0."""
    return assertion.assorter(record) - assertion.assorter(sheet)


def diluted_margin(assertion: Assertion, paper: int) -> float | None:
    """Return v = slack/N, or None when the paper sheets cannot change the assertion."""
    if paper <= 0 or assertion.slack > 2 * paper:
        return None
    # v = 2 exactly: only "every sheet a two-vote overstatement" breaks the assertion;
    # a hair below 2 keeps B finite and the test conservative.
    return min(assertion.slack / paper, 2 - 1e-9)


def comparison_value(omega: Fraction, v: float) -> float:
    """Return B = (1 − ω)/(2 − v)."""
    return (1 - float(omega)) / (2 - v)


def _log_factor(b: float, g: float) -> float:
    return math.log((b + g) / (0.5 + g))


def p_value(values: Sequence[float], g: float = DEFAULT_G) -> float:
    """Return the Kaplan-Markov p-value of the comparison values drawn so far."""
    log_t = 0.0
    best = 0.0
    for b in values:
        log_t += _log_factor(b, g)
        best = max(best, log_t)
    return min(1.0, math.exp(-best))


def initial_sample_size(assertions: Sequence[Assertion], paper: int,
                        risk_limit: float = DEFAULT_RISK_LIMIT, g: float = DEFAULT_G) -> int:
    """Return the first round's size: error-free sheets needed by the narrowest assertion,
    with 15% head-room for a few discrepancies."""
    need = 0
    for a in assertions:
        v = diluted_margin(a, paper)
        if v is None:
            continue
        step = _log_factor(1 / (2 - v), g)
        need = max(need, math.ceil(math.log(1 / risk_limit) / step))
    return min(math.ceil(need * FIRST_ROUND_INFLATION), max(paper, 1) * 4) if need else 0


@dataclass
class AssertionResult:
    """One assertion after the comparisons so far."""

    assertion: Assertion
    diluted_margin: float | None
    p_value: float
    overstatements: dict[str, int] = field(default_factory=dict)  # "1", "2", "-1", "-2" -> count

    def to_json(self) -> dict:
        return {**self.assertion.to_json(), "diluted_margin": self.diluted_margin,
                "p_value": self.p_value, "overstatements": self.overstatements}


@dataclass
class Evaluation:
    """Where the audit stands: per assertion p-values and what to do next.

    ``decision``: ``confirmed`` (every p ≤ risk limit), ``continue`` (draw up to
    ``next_size`` picks and compare them) or ``full_count`` (the sample would pass the cap,
    or the discrepancies seen leave no hope of confirming: count every sheet by hand).
    """

    results: list[AssertionResult]
    compared: int
    decision: str
    next_size: int

    def to_json(self) -> dict:
        return {"compared": self.compared, "decision": self.decision, "next_size": self.next_size,
                "assertions": [r.to_json() for r in self.results]}


def evaluate(assertions: Sequence[Assertion], paper: int,
             comparisons: Sequence[tuple[frozenset[str] | None, frozenset[str] | None]],
             *, risk_limit: float = DEFAULT_RISK_LIMIT, cap: int | None = None,
             g: float = DEFAULT_G) -> Evaluation:
    """Evaluate the comparisons of the first picks, in pick order.

    ``comparisons``: (record, sheet as read) per pick, in the sample's order and without
    gaps (a pick drawn twice appears twice); ``sheet`` None: not found in its box.
    ``cap``: the most picks before calling for a full count (default: half the sheets).
    """
    if not 0 < risk_limit < 1:
        raise ValueError("the risk limit is between 0 and 1")
    cap = max(1, paper // 2) if cap is None else cap
    results = []
    needs = []
    for a in assertions:
        v = diluted_margin(a, paper)
        counts: dict[str, int] = {}
        if v is None:
            results.append(AssertionResult(a, None, 0.0, counts))
            continue
        values = []
        for record, sheet in comparisons:
            omega = overstatement(a, record, sheet)
            if omega:
                key = str(int(omega * 2))
                counts[key] = counts.get(key, 0) + 1
            values.append(comparison_value(omega, v))
        p = p_value(values, g)
        results.append(AssertionResult(a, v, p, counts))
        if p > risk_limit:
            needs.append(_more_needed(values, v, p, risk_limit, g))
    n = len(comparisons)
    if not needs:
        return Evaluation(results, n, "confirmed", n)
    if any(x is None for x in needs):
        return Evaluation(results, n, "full_count", n)
    target = max(n + max(needs), math.ceil(n * MIN_GROWTH), n + 1)
    if target > cap:
        return Evaluation(results, n, "full_count", n)
    return Evaluation(results, n, "continue", target)


def _more_needed(values: Sequence[float], v: float, p: float, risk_limit: float,
                 g: float) -> int | None:
    """Estimate how many more picks bring p under the risk limit if discrepancies keep
    their observed rate; None when at that rate the evidence would never suffice."""
    if not values:
        return math.ceil(math.log(1 / risk_limit) / _log_factor(1 / (2 - v), g))
    logs = [_log_factor(b, g) for b in values]
    step = sum(logs) / len(logs)
    if step <= 0:
        return None
    current = sum(logs)
    return max(1, math.ceil((math.log(1 / risk_limit) - current) / step))


def fixed_sample_size(rate: float, confidence: float = 0.95) -> int:
    """Return n such that, if at least ``rate`` of the sheets differ from their records, n
    picks with replacement find one with probability ≥ ``confidence``.

    Not risk-limiting: it bounds the share of wrong records, not the chance of a wrong outcome.
    """
    if not 0 < rate < 1 or not 0 < confidence < 1:
        raise ValueError("rate and confidence are between 0 and 1")
    return math.ceil(math.log(1 - confidence) / math.log(1 - rate))
