"""A compiled float run of the method of equal shares, for the many runs of Add1.

:func:`civicbudget.tally.mes_fast.mes_once_fast` decides in float64 whenever the margin is
safe and in exact rationals otherwise; its Python and numpy overhead per round is what made
Add1 slow on large elections (a few hundred runs of 5-40 ms). This module runs the *float*
part of the same algorithm as one compiled loop (numba, ``cache=True``): the same lazy
re-pricing by lower bounds (a price only rises during a run), the same error bounds and
margins (see :mod:`civicbudget.tally.mes_fast`: every float budget carries a bound of its
error, ``eg``; a price is used only when its partition is certain and its bound is below
relative 1e-9), one float budget per merged ballot (no budget classes: nothing here is ever
rebuilt exactly). A decision inside a margin (a project almost exactly affordable, a
supporter within its error bound of paying all it has, a price not known to 1e-9, or two
prices within the margin of a tie) is not taken here: the run gives up and the caller runs
the exact-when-close path for that budget instead. The one close call settled here is the
common exact tie where every supporter of every tied project surely has more than its full
share, or exactly nothing left: the prices are then exact ratios of integers and the
tie-break order decides. So a result returned was decided on proven margins or exact
integers only, and equals the exact outcome.

Without numba (not installed, or ``CIVICBUDGET_TALLY_NO_JIT=1``), :data:`AVAILABLE` is
False and callers use the Python path only; outcomes are the same, only slower.
See docs/decisions/0008-tally-numba-kernel.md.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from civicbudget.tally._exact import floats_fit, to_fraction
from civicbudget.tally.profile import Prepared

REL = 1e-9  # same margins and bounds as mes_fast
CLOSE = 1 + 4 * REL
U = 2.0**-53
SAFE = 4.0

try:  # pragma: no cover - depends on the environment
    if os.environ.get("CIVICBUDGET_TALLY_NO_JIT"):
        raise ImportError("disabled by CIVICBUDGET_TALLY_NO_JIT")
    from civicbudget.tally import jit

    jit.configure()  # before numba reads NUMBA_CACHE_DIR: a writable cache, see jit.py
    from numba import njit

    AVAILABLE = True
except ImportError:  # pragma: no cover
    AVAILABLE = False

    def njit(*args: Any, **kwargs: Any) -> Any:
        """Stand-in: return the function unchanged (only used by tests without numba)."""

        def wrap(f: Any) -> Any:
            return f

        return wrap


BAIL = -1  # a close call: not decided here


@njit(cache=True)
def _price(cost, lb, lo, hi, p_group, p_w, p_mult, bg, eg, cand, cb, tol):  # pragma: no cover
    """Return (status, share, error bound of the share) of the project with supporters ``lo:hi``.

    status 1 affordable at ``share`` per unit of weight, 0 not affordable, BAIL too close to
    call. ``lb`` is a lower bound of the share (its last price, known to relative REL: exact
    prices only rise during a run), so a supporter with surely less than ``lb (1 - 2 REL)``
    per unit of weight (its budget plus its error bound ``eg``) surely pays all it has; only
    the others are candidates for paying the share in full. ``cand``/``cb`` are scratch
    space for the candidates and their budgets. The bounds are those of ``mes_fast``.
    """
    avail = 0.0
    avail_err = 0.0  # sum of the budgets' error bounds
    contrib = 0.0
    contrib_err = 0.0
    denom = 0.0
    nc = 0
    low = lb * (1 - 2 * REL)
    for e in range(lo, hi):
        g = p_group[e]
        b = bg[g]
        mu = p_mult[e]
        avail += mu * b
        avail_err += mu * eg[g]
        if low * p_w[e] > b + eg[g]:
            contrib += mu * b
            contrib_err += mu * eg[g]
        else:
            cand[nc] = e
            cb[nc] = b
            nc += 1
            denom += mu * p_w[e]
    m = hi - lo
    rnd = SAFE * (m + 2) * U  # rounding of a sum of m terms, and of cost - avail
    close = max(REL * cost, (1 + rnd) * avail_err + rnd * (avail + cost))
    if avail < cost - close:
        return 0, 0.0, 0.0
    if avail <= cost + close or nc == 0:
        return BAIL, 0.0, 0.0
    # who else pays all they have: grow that set from the share if all candidates paid it in
    # full (the share only rises as voters drop out of paying in full); sort after a few steps.
    # The share is used only if the partition found is surely the exact one: every candidate
    # beyond its error bound (budget's and share's) on its side; those dropped at a lower
    # share are checked at the final one's bound through ``slack`` (their smallest margin, in
    # units of share), the others in the last pass.
    slack = np.inf
    share = (cost - contrib) / denom
    for _ in range(8):
        err = _share_error(share, cost, contrib, contrib_err, denom, m)
        kept = 0
        denom = 0.0
        certain = True
        for i in range(nc):
            e = cand[i]
            w = p_w[e]
            b = cb[i]
            eb = eg[p_group[e]]
            if share * w > b + tol:
                contrib += p_mult[e] * b
                contrib_err += p_mult[e] * eb
                gap = share * w - b - eb * (1 + SAFE * U) - SAFE * U * (b + share * w)
                slack = min(slack, gap / (w * (1 + SAFE * U)))
            else:
                cand[kept] = e
                cb[kept] = b
                kept += 1
                denom += p_mult[e] * w
                if b - share * w <= (eb + w * err) * (1 + SAFE * U) + SAFE * U * (b + share * w):
                    certain = False
        if kept == nc:  # nothing dropped: contrib, denom and so err are this share's
            if certain and err <= REL * share and err < slack:
                return 1, share, err
            return BAIL, 0.0, 0.0
        nc = kept
        if nc == 0:
            return BAIL, 0.0, 0.0
        last = share
        share = (cost - contrib) / denom
        if share < last:  # rounding; the slack argument needs a share that only rises
            return BAIL, 0.0, 0.0
    # many steps: sort the candidates by budget per unit of weight and walk up
    ratio = np.empty(nc)
    for i in range(nc):
        ratio[i] = cb[i] / p_w[cand[i]]
    order = np.argsort(ratio)
    last = share
    stop = nc
    for k in range(nc):
        i = order[k]
        e = cand[i]
        w = p_w[e]
        share = (cost - contrib) / denom
        if share * w <= cb[i] + tol:
            stop = k
            break
        contrib += p_mult[e] * cb[i]
        contrib_err += p_mult[e] * eg[p_group[e]]
        denom -= p_mult[e] * w
    err = _share_error(share, cost, contrib, contrib_err, denom, m)
    if share < last or not (err <= REL * share and err < slack):
        return BAIL, 0.0, 0.0
    for k in range(nc):  # the first ``stop`` pay all they have, the others in full
        i = order[k]
        w = p_w[cand[i]]
        b = cb[i]
        eb = eg[p_group[cand[i]]]
        bound = (eb + w * err) * (1 + SAFE * U) + SAFE * U * (b + share * w)
        if (b - share * w >= -bound) if k < stop else (b - share * w <= bound):
            return BAIL, 0.0, 0.0
    return 1, share, err


@njit(cache=True)
def _share_error(share, cost, contrib, contrib_err, denom, m):  # pragma: no cover - compiled
    """Return a bound of |share - exact share| for ``share = (cost - contrib) / denom``.

    Given the partition (who pays all they have: ``contrib``, the sum of their budgets,
    each off by at most its bound, ``contrib_err`` their sum): the budgets' bounds, plus the
    rounding of a sum of ``m`` terms and of ``cost - contrib``, measured on ``cost +
    contrib`` (so cancellation is included), over the exact integer ``denom``; plus the
    division's rounding.
    """
    rnd = SAFE * (m + 2) * U
    return ((1 + rnd) * contrib_err + rnd * (cost + contrib)) / denom + SAFE * U * share


@njit(cache=True)
def _settle(
    close, share_of, err_of, unit, wint, rank, p_ptr, p_group, p_w, p_mult, bg, eg
):  # pragma: no cover - compiled
    """Return the project MES buys among ``close`` (prices within the margin), or BAIL.

    Settled exactly only when every supporter of every one of them either surely (beyond
    its error bound and the share's) has more than its full share, or has exactly nothing
    left (``bg`` 0 with error bound 0): then the share is exactly cost / the weight of the
    first kind, and the price per unit of utility is ``unit / that weight``, with ``unit`` = cost / scale an
    integer (0 when it is not one, or too large to compare exactly). Equal prices go to the
    lowest ``rank`` (the tie-break order).
    """
    n = close.shape[0]
    weight = np.empty(n, dtype=np.int64)
    for i in range(n):
        j = close[i]
        if unit[j] <= 0:
            return BAIL
        share = share_of[j]
        empty = 0.0
        for e in range(p_ptr[j], p_ptr[j + 1]):
            g = p_group[e]
            w = p_w[e]
            bound = (eg[g] + w * err_of[j]) * (1 + SAFE * U) + SAFE * U * (bg[g] + share * w)
            if bg[g] - share * w > bound:
                continue
            if bg[g] == 0.0 and eg[g] == 0.0:
                empty += p_mult[e] * p_w[e]  # an integer, exact in float64 (below 2**53)
                continue
            return BAIL
        weight[i] = wint[j] - np.int64(empty)
        if weight[i] <= 0:
            return BAIL
    best = 0
    for i in range(1, n):
        left = unit[close[i]] * weight[best]
        right = unit[close[best]] * weight[i]
        if left < right or (left == right and rank[close[i]] < rank[close[best]]):
            best = i
    return close[best]


@njit(cache=True)
def _reprice(
    j,
    cost,
    scale,
    p_ptr,
    p_group,
    p_w,
    p_mult,
    bg,
    eg,
    cand,
    cb,
    tol,
    rho,
    remaining,
    dirty,
    share_of,
    err_of,
):  # pragma: no cover - compiled; tested through its results
    """Price project ``j`` now (from its lower bound): 1 priced, 0 out of reach (dropped),
    BAIL when too close to call. Updates ``rho``, ``share_of``, ``err_of`` and the flags."""
    status, share, err = _price(
        cost[j],
        rho[j] * scale[j],
        p_ptr[j],
        p_ptr[j + 1],
        p_group,
        p_w,
        p_mult,
        bg,
        eg,
        cand,
        cb,
        tol,
    )
    dirty[j] = False
    if status == BAIL:
        return BAIL
    if status == 0:
        remaining[j] = False
        rho[j] = np.inf
        return 0
    share_of[j] = share
    err_of[j] = err
    rho[j] = share / scale[j]
    return 1


@njit(cache=True)
def mes_float_run(
    b0,
    cost,
    scale,
    wtot,
    unit,
    wint,
    rank,
    p_ptr,
    p_group,
    p_w,
    p_mult,
    nb_ptr,
    nb_idx,
    has_nb,
    bg,
    eg,
    cand,
    cb,
    out,
):  # pragma: no cover - compiled; tested through its results
    """Run MES at per-voter budget ``b0``; write the purchase order to ``out``.

    ``unit`` is each project's cost / scale when an integer (see :func:`_settle`), ``wint``
    its total weight, ``rank`` its place in the tie-break order.

    Return the number of projects bought, or BAIL when a decision was too close to call.
    ``bg`` (one budget per merged ballot), ``eg`` (a bound of its error), ``cand`` and ``cb``
    (one per supporter of the widest project) are scratch space.
    """
    num_p = cost.shape[0]
    tol = REL * max(abs(b0), 1.0) * 1e-3  # where to stop the walk; checked afterwards
    bg[:] = b0
    eg[:] = 2 * U * abs(b0)  # b0 is the exact budget converted: within an ulp
    rho = np.full(num_p, np.inf)
    share_of = np.zeros(num_p)
    err_of = np.zeros(num_p)
    close = np.empty(num_p, dtype=np.int64)
    remaining = np.zeros(num_p, dtype=np.bool_)
    dirty = np.ones(num_p, dtype=np.bool_)
    for j in range(num_p):
        if wtot[j] > 0:
            rho[j] = cost[j] / (wtot[j] * scale[j])
            remaining[j] = True
    count = 0
    while True:
        # the lowest price: evaluate the lowest lower bound until it is a current price
        best_j = -1
        best = np.inf
        while True:
            best_j = -1
            best = np.inf
            for j in range(num_p):
                if remaining[j] and rho[j] < best:
                    best = rho[j]
                    best_j = j
            if best_j < 0 or not dirty[best_j]:
                break
            status = _reprice(
                best_j,
                cost,
                scale,
                p_ptr,
                p_group,
                p_w,
                p_mult,
                bg,
                eg,
                cand,
                cb,
                tol,
                rho,
                remaining,
                dirty,
                share_of,
                err_of,
            )
            if status == BAIL:
                return BAIL
        if best_j < 0:
            return count
        # other prices within the margin of a tie: settle it exactly when it can be done
        # without exact budgets, else give up
        limit = best * CLOSE
        n_close = 1
        close[0] = best_j
        for j in range(num_p):
            if j == best_j or not remaining[j] or rho[j] > limit:
                continue
            if dirty[j]:
                status = _reprice(
                    j,
                    cost,
                    scale,
                    p_ptr,
                    p_group,
                    p_w,
                    p_mult,
                    bg,
                    eg,
                    cand,
                    cb,
                    tol,
                    rho,
                    remaining,
                    dirty,
                    share_of,
                    err_of,
                )
                if status == BAIL:
                    return BAIL
                if status == 0 or rho[j] > limit:
                    continue
            close[n_close] = j
            n_close += 1
        if n_close > 1:
            best_j = _settle(
                close[:n_close],
                share_of,
                err_of,
                unit,
                wint,
                rank,
                p_ptr,
                p_group,
                p_w,
                p_mult,
                bg,
                eg,
            )
            if best_j < 0:
                return BAIL
        # buy best_j: its supporters pay the share per unit of weight, or all they have
        share = share_of[best_j]
        err = err_of[best_j]
        for e in range(p_ptr[best_j], p_ptr[best_j + 1]):
            g = p_group[e]
            w = p_w[e]
            rest = bg[g] - share * w
            # error of the new budget: the old one's, the share's, and this subtraction's
            # rounding on its operands (not on the possibly tiny result)
            bound = (eg[g] + w * err) * (1 + SAFE * U) + SAFE * U * (bg[g] + share * w)
            if rest < -bound:  # surely pays all: exactly nothing left
                bg[g] = 0.0
                eg[g] = 0.0
            else:
                bg[g] = max(rest, 0.0)
                eg[g] = bound
        remaining[best_j] = False
        out[count] = best_j
        count += 1
        if has_nb:
            for q in range(nb_ptr[best_j], nb_ptr[best_j + 1]):
                dirty[nb_idx[q]] = True
        else:
            dirty[:] = True


def _units(prep: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """Return (unit, weight): cost / scale per project when an integer, and total weights.

    A price per unit of utility is share / scale = cost / (paying weight x scale) =
    unit / paying weight. Comparing two by cross-multiplying is exact in int64 while both
    factors are below 2**31; otherwise unit is 0 and such a tie is left to the exact path.
    """
    unit = np.zeros(prep.num_projects, dtype=np.int64)
    for j in range(prep.num_projects):
        u = to_fraction(prep.costs[j]) / to_fraction(prep.scales[j])
        if u.denominator == 1 and 0 < u.numerator < 2**31 and prep.weight_total[j] < 2**31:
            unit[j] = u.numerator
    return unit, np.array(prep.weight_total, dtype=np.int64)


class FloatMES:
    """The compiled float MES for one prepared election (scratch arrays allocated once).

    ``run(voter_budget)`` returns the projects bought in order, or None when a decision was
    too close to call in floats (then use :func:`mes_once_fast`, which settles it exactly).
    Not thread-safe: use one instance per thread.
    """

    def __init__(self, prep: Prepared, keys: list[Any]) -> None:
        num_p = prep.num_projects
        self.prep = prep
        # beyond the float bounds every run gives up (None): the callers go exact
        self.fits = floats_fit(prep, 0)
        self.cost = np.array([float(c) for c in prep.costs] if self.fits else [0.0] * num_p)
        self.scale = np.array([float(s) for s in prep.scales] if self.fits else [1.0] * num_p)
        self.wtot = np.array(prep.weight_total, dtype=np.float64)
        self.unit, self.wint = _units(prep)
        order = sorted(range(num_p), key=keys.__getitem__)
        self.rank = np.empty(num_p, dtype=np.int64)
        self.rank[order] = np.arange(num_p, dtype=np.int64)
        self.p_ptr = prep.p_ptr.astype(np.int64)
        self.p_group = prep.p_group.astype(np.int64)
        self.p_w = prep.p_w.astype(np.int64)
        self.p_mult = prep.p_mult.astype(np.float64)
        nb = prep.neighbours
        self.has_nb = nb is not None
        if nb is not None:
            lengths = [len(a) for a in nb]
            self.nb_ptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
            self.nb_idx = (
                np.concatenate([a.astype(np.int64) for a in nb])
                if sum(lengths)
                else np.zeros(0, dtype=np.int64)
            )
        else:
            self.nb_ptr = np.zeros(num_p + 1, dtype=np.int64)
            self.nb_idx = np.zeros(0, dtype=np.int64)
        widest = int(np.diff(self.p_ptr).max(initial=0))
        self.bg = np.zeros(len(prep.mult))
        self.eg = np.zeros(len(prep.mult))
        self.cand = np.zeros(max(widest, 1), dtype=np.int64)
        self.cb = np.zeros(max(widest, 1))
        self.out = np.zeros(max(num_p, 1), dtype=np.int64)
        self.runs = 0
        self.bails = 0
        self.seconds = 0.0

    def run(self, voter_budget: Any) -> list[int] | None:
        """Return the projects MES buys at ``voter_budget`` per voter, or None (too close)."""
        if not (self.fits and floats_fit(self.prep, voter_budget)):
            return None
        start = time.perf_counter()
        n = mes_float_run(
            float(voter_budget),
            self.cost,
            self.scale,
            self.wtot,
            self.unit,
            self.wint,
            self.rank,
            self.p_ptr,
            self.p_group,
            self.p_w,
            self.p_mult,
            self.nb_ptr,
            self.nb_idx,
            self.has_nb,
            self.bg,
            self.eg,
            self.cand,
            self.cb,
            self.out,
        )
        self.seconds += time.perf_counter() - start
        if self.runs == 0 and AVAILABLE:
            from civicbudget.tally import jit

            jit.mark_ready()  # compiled (and cached by numba): later processes load it
        self.runs += 1
        if n == BAIL:
            self.bails += 1
            return None
        return self.out[:n].tolist()
