"""Tie-breaking: a total order on projects that decides between otherwise equal projects.

``lexicographic`` (the default, as pabutools): by project id as a string, so "10" < "9".
``numeric``: by id as a number when every id is an integer (else lexicographic).
``cost-votes``: lowest cost first, then most supporters, then lexicographic
(equalshares.net's recommendation).
``file-order``: the order of the PROJECTS section.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from civicbudget.tally.model import Election

TIE_BREAKS = ("lexicographic", "numeric", "cost-votes", "file-order")


def tie_keys(election: Election, tie_break: str, supporters: Sequence[int]) -> list[Any]:
    """Return one sort key per project (file order): the smaller key wins a tie."""
    ids = [p.id for p in election.projects]
    if tie_break == "lexicographic":
        return [(i,) for i in ids]
    if tie_break == "numeric":
        if all(i.lstrip("-").isdigit() for i in ids):
            return [(int(i), i) for i in ids]
        return [(0, i) for i in ids]
    if tie_break == "cost-votes":
        return [(Fraction(p.cost), -supporters[j], p.id) for j, p in enumerate(election.projects)]
    if tie_break == "file-order":
        return [(j,) for j in range(len(ids))]
    raise ValueError(f"unknown tie-break {tie_break!r}; choose from {', '.join(TIE_BREAKS)}")
