"""A fast run of the method of equal shares: floats to decide, exact rationals when close.

Same rule, same outcome as :func:`civicbudget.tally.mes.mes_once`, many times faster on
large elections. Prices and budgets are computed in float64 with numpy. A decision is taken
in floats only when its margin is far above any possible rounding error (relative 1e-9,
where float64 errors here stay below 1e-12); otherwise it is settled exactly: each budget
class remembers how it was made (parent class, round, weight), so its exact value is
rebuilt on demand, in rationals, from the exact price of each round it went through.
Near-ties are rare, so exact arithmetic is only paid for where it decides something.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

import numpy as np

from civicbudget.tally._exact import Q
from civicbudget.tally.mes import MESRound, MESRun
from civicbudget.tally.profile import Prepared

REL = 1e-9


def mes_once_fast(prep: Prepared, voter_budget: Any, keys: list[Any]) -> MESRun:
    """Run MES once from ``voter_budget`` per voter; return the purchases (exactly)."""
    num_p = prep.num_projects
    costs, scales = prep.costs, prep.scales
    cost_f = [float(c) for c in costs]
    scale_f = [float(s) for s in scales]
    p_ptr = prep.p_ptr.tolist()
    p_group, p_w = prep.p_group, prep.p_w
    p_mult = prep.p_mult.astype(np.float64)
    cls = np.zeros(len(prep.mult), dtype=np.int64)
    kw = prep.max_weight + 1
    uniform = prep.max_weight == 1
    b0f = float(voter_budget)
    tol_b = REL * max(abs(b0f), 1.0)
    # classes: 0 = the initial budget, 1 = exhausted
    cap = 1024
    bf = np.zeros(cap)
    bf[0] = b0f
    n_cls = 2
    # classes made in round r: ids starts[r] .. starts[r] + len(parents[r]) - 1
    starts: list[int] = []
    parents: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    exact_b: dict[int, Any] = {0: voter_budget, 1: Q(0)}
    round_pairs: list[tuple[list[int], list[int], list[int], int]] = []
    exact_share: dict[int, Any] = {}

    def origin(k: int) -> tuple[int, int, int]:
        r = bisect_right(starts, k) - 1
        return int(parents[r][k - starts[r]]), r, int(weights[r][k - starts[r]])

    def exact_budget(k: int) -> Any:
        chain = []
        while k not in exact_b:
            par, r, w = origin(k)
            chain.append((k, par, r, w))
            k = par
        for c, par, r, w in reversed(chain):
            value = exact_b[par] - share_of(r) * w
            exact_b[c] = value if value > 0 else Q(0)
        return exact_b[chain[0][0]] if chain else exact_b[k]

    def exact_price(j: int, uk: list[int], uw: list[int], counts: list[int]) -> Any:
        """Return the exact share per unit of weight of project j, or None if unaffordable."""
        bs = [exact_budget(k) for k in uk]
        cost = costs[j]
        if sum(c * b for c, b in zip(counts, bs, strict=True)) < cost:
            return None
        order = sorted(range(len(uk)), key=lambda t: bs[t] / uw[t])
        contrib = 0
        denom = sum(c * w for c, w in zip(counts, uw, strict=True))
        share = None
        for t in order:
            share = (cost - contrib) / denom
            if share * uw[t] <= bs[t]:
                break
            contrib += counts[t] * bs[t]
            denom -= counts[t] * uw[t]
        return share

    def share_of(r: int) -> Any:
        if r not in exact_share:
            uk, uw, counts, j = round_pairs[r]
            exact_share[r] = exact_price(
                j,
                uk.tolist(),
                uw.astype(np.int64).tolist(),
                np.rint(counts).astype(np.int64).tolist(),
            )
        return exact_share[r]

    rho = [np.inf] * num_p
    remaining: set[int] = set()
    for j in range(num_p):
        if prep.weight_total[j] > 0:
            rho[j] = cost_f[j] / (prep.weight_total[j] * scale_f[j])
            remaining.add(j)
    dirty = [True] * num_p
    cache: list[Any] = [None] * num_p
    selected: list[int] = []
    rounds: list[MESRound] = []
    neighbours = prep.neighbours

    def pairs_of(j: int) -> tuple:
        lo, hi = p_ptr[j], p_ptr[j + 1]
        k = cls[p_group[lo:hi]]
        if uniform:
            full = np.bincount(k, weights=p_mult[lo:hi], minlength=n_cls)
            uk = np.flatnonzero(full)
            return lo, hi, uk, np.ones(len(uk)), full[uk], None
        key = k * kw + p_w[lo:hi]
        uniq, inv = np.unique(key, return_inverse=True)
        counts = np.bincount(inv, weights=p_mult[lo:hi])
        return lo, hi, uniq // kw, (uniq % kw).astype(np.float64), counts, inv

    def evaluate(j: int) -> tuple | None:
        """Return (share, pairs..., exact share or None); None when unaffordable."""
        lo, hi, uk, uw, counts, inv = pairs_of(j)
        b = bf[uk]
        avail = float(np.dot(counts, b))
        cost = cost_f[j]
        exact = None
        if avail < cost * (1 - REL):
            return None
        if avail <= cost * (1 + REL):  # too close to call in floats
            exact = exact_price(
                j,
                uk.tolist(),
                uw.astype(np.int64).tolist(),
                np.rint(counts).astype(np.int64).tolist(),
            )
            if exact is None:
                return None
            share = float(exact)
        else:
            if inv is None:  # all weights 1
                order = np.argsort(b)
                bo, co = b[order], counts[order]
                cb = co * bo
                cm = np.cumsum(cb) - cb
                cw = co.sum() - (np.cumsum(co) - co)
                shares = (cost - cm) / cw
                t = int(np.argmax(shares <= bo + tol_b * 1e-3))
            else:
                order = np.argsort(b / uw)
                bo, wo, co = b[order], uw[order], counts[order]
                cb = co * bo
                cwo = co * wo
                cm = np.cumsum(cb) - cb
                cw = cwo.sum() - (np.cumsum(cwo) - cwo)
                shares = (cost - cm) / cw
                t = int(np.argmax(shares * wo <= bo + tol_b * 1e-3))
            share = float(shares[t])
        return share, lo, hi, uk, uw, counts, inv, exact

    def exact_rho(j: int) -> Any:
        ev = cache[j]
        if ev[7] is None:
            _, lo, hi, uk, uw, counts, inv, _ = ev
            ex = exact_price(
                j,
                uk.tolist(),
                uw.astype(np.int64).tolist(),
                np.rint(counts).astype(np.int64).tolist(),
            )
            cache[j] = (*ev[:7], ex)
            ev = cache[j]
        return None if ev[7] is None else ev[7] / scales[j]

    while remaining:
        best = None
        reached: list[int] = []
        ordered = sorted(remaining, key=rho.__getitem__)
        for j in ordered:
            if best is not None and rho[j] > best * (1 + 4 * REL):
                break
            if dirty[j]:
                ev = evaluate(j)
                dirty[j] = False
                if ev is None:
                    remaining.discard(j)
                    continue
                cache[j] = ev
                rho[j] = ev[0] / scale_f[j]
            reached.append(j)
            if best is None or rho[j] < best:
                best = rho[j]
        if best is None:
            break
        close = [j for j in reached if rho[j] <= best * (1 + 4 * REL)]
        tied: list[int] = []
        if len(close) == 1:
            chosen = close[0]
        else:
            exact_vals = {}
            for j in close:
                value = exact_rho(j)
                if value is None:  # exactly unaffordable after all
                    remaining.discard(j)
                    rho[j] = np.inf
                else:
                    exact_vals[j] = value
            if not exact_vals:
                continue
            low = min(exact_vals.values())
            tied = [j for j, v in exact_vals.items() if v == low]
            chosen = min(tied, key=keys.__getitem__)
        share, lo, hi, uk, uw, counts, inv, exact = cache[chosen]
        r = len(selected)
        round_pairs.append((uk, uw, counts, chosen))
        if exact is not None:
            exact_share[r] = exact
        b = bf[uk]
        rest = b - share * uw
        m = len(uk)
        new = np.empty(m, dtype=np.int64)
        poor = rest < -tol_b
        new[poor] = 1
        idx = np.flatnonzero(~poor)
        if n_cls + len(idx) > cap:
            while n_cls + len(idx) > cap:
                cap *= 2
            bf = np.resize(bf, cap)
        ids = np.arange(n_cls, n_cls + len(idx))
        new[idx] = ids
        bf[ids] = np.maximum(rest[idx], 0.0)
        starts.append(n_cls)
        parents.append(uk[idx])
        weights.append(uw[idx].astype(np.int64))
        n_cls += len(idx)
        groups = p_group[lo:hi]
        if inv is None:
            remap = np.zeros(n_cls, dtype=np.int64)
            remap[uk] = new
            cls[groups] = remap[cls[groups]]
        else:
            cls[groups] = new[inv]
        selected.append(chosen)
        remaining.discard(chosen)
        if neighbours is not None:
            for p in neighbours[chosen].tolist():
                dirty[p] = True
        else:
            dirty = [True] * num_p
        if len(tied) > 1:
            rounds.append(
                MESRound(chosen, None, None, {}, 0, tuple(sorted(tied, key=keys.__getitem__)))
            )
    return MESRun(voter_budget, selected, rounds, cls, [])
