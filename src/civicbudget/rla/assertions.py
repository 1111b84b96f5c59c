"""Greedy participatory budgeting reduced to pairwise assertions (SHANGRLA, Stark 2020).

Greedy by votes takes the projects in decreasing order of votes (ties by the tie-break)
and funds each one that still fits in the money left. Write W for the reported winners,
≻ for the order (votes, then tie-break). By induction over the order, the outcome is W
exactly when no loser is ever funded, that is when for every loser l

    cost({w ∈ W : w ≻ l}) > budget − cost(l)                                  (*)

(while no loser has been funded, each winner fits: the winners funded before it plus
itself cost at most cost(W) ≤ budget). A loser dearer than the whole budget never fits
and needs nothing. For any other loser, pick a set S_l of winners ranked above l in the
reported order whose costs already exceed budget − cost(l); if every "w ≻ l" with w in
S_l still holds in the true order, (*) holds for l. We take the winners above l in
decreasing margin over l, stopping as soon as their cost is enough: the fewest, widest
margins, hence the smallest audit.

Each assertion "w ≻ l" is "votes(w) − votes(l) > 0" (or ≥ 0 when the tie-break favours w):
a plurality-style assorter over approval ballots, a(b) = (b_w − b_l + 1)/2 ∈ {0, ½, 1}.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any


class NotReducible(ValueError):
    """The rule has no reduction to assertions here (the audit falls back to a fixed sample)."""


@dataclass(frozen=True)
class Assertion:
    """"winner got more votes than loser", with the reported margin over all ballots.

    ``margin`` is votes(winner) − votes(loser) in the reported count; ``tie_favours_winner``
    says the tie-break ranks the winner first, so a tie would keep the outcome. The
    assertion holds while the overstatements of the paper sheets add up to less than
    ``slack`` = margin + (1 if the tie favours the winner), in votes.
    """

    winner: str
    loser: str
    margin: int
    tie_favours_winner: bool

    @property
    def slack(self) -> int:
        return self.margin + (1 if self.tie_favours_winner else 0)

    @property
    def name(self) -> str:
        return f"{self.winner}>{self.loser}"

    def assorter(self, ballot: frozenset[str] | set[str] | None) -> Fraction:
        """Return a(b) = (b_w − b_l + 1)/2; a missing sheet counts as 0 (the worst case)."""
        if ballot is None:
            return Fraction(0)
        return Fraction(int(self.winner in ballot) - int(self.loser in ballot) + 1, 2)

    def to_json(self) -> dict[str, Any]:
        return {"winner": self.winner, "loser": self.loser, "margin": self.margin,
                "tie_favours_winner": self.tie_favours_winner}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Assertion:
        return cls(str(obj["winner"]), str(obj["loser"]), int(obj["margin"]),
                   bool(obj["tie_favours_winner"]))


def check_rule(*, rule: str, utility: str | None, vote_type: str, threshold: Any = None,
               no_skip: bool = False, fund_unsupported: bool = True) -> None:
    """Raise :class:`NotReducible` (saying why) unless the rule is greedy by votes on
    approval ballots, which is what the reduction covers."""
    if rule != "greedy":
        raise NotReducible(f"the rule {rule} has no reduction to assertions yet")
    if vote_type not in ("approval", "choose-1"):
        raise NotReducible(f"greedy on {vote_type} ballots has no reduction here yet")
    if utility not in (None, "cost"):
        raise NotReducible(f"greedy with utility {utility} (not by votes) has no reduction here yet")
    if threshold is not None:
        raise NotReducible("greedy with a vote threshold has no reduction here yet")
    if no_skip:
        raise NotReducible("greedy that stops at the first project that does not fit has no reduction here yet")
    if not fund_unsupported:
        # A winner with no true vote would drop out, which no pairwise assertion covers.
        raise NotReducible("greedy that leaves out projects without votes has no reduction here yet")


def _order(votes: Mapping[str, int], tie_rank: Mapping[str, Any]) -> list[str]:
    return sorted(votes, key=lambda p: (-votes[p], tie_rank[p]))


def greedy_replay(costs: Mapping[str, Any], budget: Any, votes: Mapping[str, int],
                  tie_rank: Mapping[str, Any]) -> list[str]:
    """Return the winners of greedy by votes (skipping what does not fit), in order."""
    left = Fraction(budget)
    chosen = []
    for p in _order(votes, tie_rank):
        if Fraction(costs[p]) <= left:
            chosen.append(p)
            left -= Fraction(costs[p])
    return chosen


def greedy_assertions(costs: Mapping[str, Any], budget: Any, votes: Mapping[str, int],
                      winners: Sequence[str], tie_rank: Mapping[str, Any]) -> list[Assertion]:
    """Return pairwise assertions that together imply the greedy outcome ``winners``.

    ``votes``: reported votes per project over every ballot of the scope (paper and
    online); ``tie_rank``: per project a sort key, the smaller wins a tie. Raise
    ValueError when ``winners`` is not what greedy gives on ``votes``.
    """
    if set(costs) != set(votes) or set(costs) != set(tie_rank):
        raise ValueError("costs, votes and tie ranks must name the same projects")
    if sorted(greedy_replay(costs, budget, votes, tie_rank)) != sorted(winners):
        raise ValueError("the reported winners are not greedy's outcome on the reported votes")
    order = _order(votes, tie_rank)
    rank = {p: i for i, p in enumerate(order)}
    won = set(winners)
    budget = Fraction(budget)
    assertions: list[Assertion] = []
    for loser in order:
        if loser in won or Fraction(costs[loser]) > budget:
            continue
        room = budget - Fraction(costs[loser])
        above = [w for w in winners if rank[w] < rank[loser]]
        above.sort(key=lambda w: (-(votes[w] - votes[loser]), rank[w]))
        spent = Fraction(0)
        for w in above:
            if spent > room:
                break
            spent += Fraction(costs[w])
            assertions.append(Assertion(w, loser, votes[w] - votes[loser],
                                        tie_rank[w] < tie_rank[loser]))
        if spent <= room:  # cannot happen when the winners are greedy's
            raise ValueError(f"loser {loser} would fit after the winners ranked above it")
    return assertions
