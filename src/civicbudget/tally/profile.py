"""Utilities and merged ballots: the numeric form every rule works on.

A *utility* says what a voter gains from a project: ``cost`` (its cost, for every project
named: equalshares.net's MES and "greedy by votes"), ``cardinality`` (1 per project named),
``points`` (the points given; ordinal ballots are converted: rank r, 0-based, gets
``max_length - r`` points, Kraków's 3-2-1) and ``points-cost`` (points x cost).

Every utility is written ``weight x scale``: an integer weight per (voter, project) and an
exact scale per project (1 or the cost). Identical ballots are merged into groups with a
multiplicity, which changes no rule's outcome and makes large elections small.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from civicbudget.tally._exact import Q
from civicbudget.tally.model import Election

UTILITIES = ("cost", "cardinality", "points", "points-cost")


@dataclass(frozen=True, eq=False)
class Prepared:
    """Merged ballots with integer weights, and per-project columns, for one utility."""

    num_voters: int
    costs: tuple  # exact (mpq or Fraction)
    scales: tuple  # exact
    mult: np.ndarray  # (G,) multiplicity of each merged ballot
    g_ptr: np.ndarray  # (G+1,) rows: projects of each group
    g_proj: np.ndarray
    g_w: np.ndarray
    p_ptr: np.ndarray  # (P+1,) columns: supporter groups of each project
    p_group: np.ndarray
    p_w: np.ndarray
    p_mult: np.ndarray
    weight_total: tuple[int, ...]  # sum of mult x weight per project
    supporters: tuple[int, ...]  # number of voters with weight > 0 per project
    max_weight: int
    neighbours: tuple[np.ndarray, ...] | None  # projects sharing a supporter, when cheap

    @property
    def num_projects(self) -> int:
        """Return the number of projects."""
        return len(self.costs)


def ballot_weights(election: Election, utility: str) -> np.ndarray:
    """Return the integer weight of every (voter, project) entry for ``utility``."""
    if utility not in UTILITIES:
        raise ValueError(f"unknown utility {utility!r}; choose from {', '.join(UTILITIES)}")
    n_entries = len(election.project_index)
    if utility in ("cost", "cardinality"):
        if election.points is not None:
            return (election.points > 0).astype(np.int64)
        return np.ones(n_entries, dtype=np.int64)
    if election.points is not None:
        return election.points.astype(np.int64)
    if election.vote_type == "ordinal":
        lengths = np.diff(election.indptr)
        max_length = election.meta.get("max_length", "")
        top = max_length.strip()
        # ASCII digits only ("²".isdigit() is True); the limits keep it below MAX_POINTS
        top = int(top) if top.isascii() and top.isdigit() else int(lengths.max(initial=0))
        rank = np.arange(n_entries, dtype=np.int64) - np.repeat(election.indptr[:-1], lengths)
        return np.maximum(top - rank, 0)
    return np.ones(n_entries, dtype=np.int64)  # approval: one point per project named


def prepare(election: Election, utility: str, exclude: frozenset[int] = frozenset()) -> Prepared:
    """Merge identical ballots and build the row and column forms for ``utility``."""
    weights = ballot_weights(election, utility)
    n = election.num_voters
    num_p = len(election.projects)
    lengths = np.diff(election.indptr)
    voter = np.repeat(np.arange(n, dtype=np.int64), lengths)
    proj = election.project_index.astype(np.int64)
    keep = weights > 0
    if exclude:
        keep &= ~np.isin(proj, np.fromiter(exclude, dtype=np.int64))
    voter, proj, weights = voter[keep], proj[keep], weights[keep]
    order = np.lexsort((proj, voter))
    voter, proj, weights = voter[order], proj[order], weights[order]
    counts = np.bincount(voter, minlength=n)
    ptr = np.concatenate(([0], np.cumsum(counts)))
    # merge identical ballots: key = bytes of (projects, weights) of each voter
    pb = proj.astype(np.int32).tobytes()
    wb = weights.astype(np.int64).tobytes()
    groups: dict[bytes, int] = {}
    gid = np.empty(n, dtype=np.int64)
    first: list[int] = []
    ptr_l = ptr.tolist()
    for v in range(n):
        lo, hi = ptr_l[v], ptr_l[v + 1]
        if lo == hi:
            gid[v] = -1
            continue
        key = pb[4 * lo : 4 * hi] + wb[8 * lo : 8 * hi]
        g = groups.get(key)
        if g is None:
            g = groups[key] = len(first)
            first.append(v)
        gid[v] = g
    num_g = len(first)
    mult = np.bincount(gid[gid >= 0], minlength=num_g).astype(np.int64)
    firsts = np.asarray(first, dtype=np.int64)
    g_len = counts[firsts] if num_g else np.zeros(0, dtype=np.int64)
    g_ptr = np.concatenate(([0], np.cumsum(g_len))).astype(np.int64)
    starts = ptr[firsts] if num_g else np.zeros(0, dtype=np.int64)
    take = np.repeat(starts - g_ptr[:-1], g_len) + np.arange(int(g_ptr[-1]), dtype=np.int64)
    g_proj = proj[take]
    g_w = weights[take]
    g_of_entry = np.repeat(np.arange(num_g, dtype=np.int64), g_len)
    col = np.lexsort((g_of_entry, g_proj))
    p_group = g_of_entry[col]
    p_w = g_w[col]
    p_mult = mult[p_group]
    p_counts = np.bincount(g_proj, minlength=num_p)
    p_ptr = np.concatenate(([0], np.cumsum(p_counts))).astype(np.int64)
    weight_total = np.bincount(
        g_proj, weights=(g_w * mult[g_of_entry]).astype(np.float64), minlength=num_p
    )
    supp = np.bincount(g_proj, weights=mult[g_of_entry].astype(np.float64), minlength=num_p)
    costs = tuple(Q(p.cost) for p in election.projects)
    scales = costs if utility in ("cost", "points-cost") else tuple(Q(1) for _ in costs)
    neighbours = None
    if num_p * len(g_proj) <= 50_000_000:
        nb = []
        for j in range(num_p):
            mask = np.zeros(num_g, dtype=bool)
            mask[p_group[p_ptr[j] : p_ptr[j + 1]]] = True
            nb.append(np.unique(g_proj[mask[g_of_entry]]))
        neighbours = tuple(nb)
    return Prepared(
        num_voters=n,
        costs=costs,
        scales=scales,
        mult=mult,
        g_ptr=g_ptr,
        g_proj=g_proj,
        g_w=g_w,
        p_ptr=p_ptr,
        p_group=p_group,
        p_w=p_w,
        p_mult=p_mult,
        weight_total=tuple(int(round(x)) for x in weight_total),
        supporters=tuple(int(round(x)) for x in supp),
        max_weight=int(weights.max(initial=1)),
        neighbours=neighbours,
    )


def as_fraction_total(prep: Prepared, j: int) -> Fraction:
    """Return the total utility of project ``j`` (weight total x scale) as a Fraction."""
    s = prep.scales[j]
    return Fraction(prep.weight_total[j]) * Fraction(int(s.numerator), int(s.denominator))
