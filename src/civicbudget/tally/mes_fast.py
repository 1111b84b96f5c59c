"""A fast run of the method of equal shares: floats to decide, exact rationals when close.

Same rule, same outcome as :func:`civicbudget.tally.mes.mes_once`, many times faster on
large elections. Prices and budgets are computed in float64 with numpy. A decision is taken
in floats only when its margin exceeds a proven bound of the rounding errors (see "Error
bounds" below), and never below relative 1e-9; otherwise it is settled exactly: each budget
class remembers how it was made (parent class, round, weight), so its exact value is
rebuilt on demand, in rationals, from the exact price of each round it went through.
Near-ties are rare, so exact arithmetic is only paid for where it decides something.

Error bounds (``U`` = 2**-53, the unit roundoff). Every float budget carries a bound of
its distance to the exact budget (``ef``): an ulp of ``b0`` at the start, exactly 0 once a
voter surely paid all it had, and after paying ``share * w`` the old bound plus ``w`` times
the share's bound plus that subtraction's rounding, measured on the *operands* (``b`` and
``share * w``), not on the (possibly tiny) result. A share ``(cost - cm) / cw`` from a given
partition is off by at most ``(sum of the payers-of-all's budget bounds + 4 (m + 2) U (cost
+ cm)) / cw`` (m terms summed; ``cw`` is an exact integer), so cancellation in ``cost - cm``
is accounted for. A float price is used only when every supporter is beyond its bound on
its side of the partition (else a wrong partition can move the price by a budget times the
number of such voters) and the share's bound is below ``REL`` of it; then two prices more
than ``CLOSE`` apart compare as their exact values do. Everything else goes exact.

:func:`mes_interval` runs two budgets in lockstep and proves that every budget in between
buys the same projects (see its docstring); Add1 uses it to skip increments.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

import numpy as np

from civicbudget.tally._exact import Q, floats_fit
from civicbudget.tally.mes import MESRound, MESRun, mes_once
from civicbudget.tally.profile import Prepared

REL = 1e-9
CLOSE = 1 + 4 * REL  # two prices, each within REL of its exact value, and the rounding
U = 2.0**-53  # float64 unit roundoff
SAFE = 4.0  # safety factor on rounding terms; bounds carried over are only grown by rounding
# what one price evaluation costs here, roughly (seconds, 2-core machine): a count of the
# work done, not a clock, so that choices made from it are deterministic
WORK_EVAL = 2.5e-5
WORK_ENTRY = 2.5e-8


class FastState:
    """The state of one MES run at one per-voter budget: budget classes, prices, purchases."""

    def __init__(self, prep: Prepared, voter_budget: Any) -> None:
        self.prep = prep
        num_p = prep.num_projects
        # float() of these cannot overflow nor underflow: callers checked floats_fit
        self.cost_f = [float(c) for c in prep.costs]
        self.scale_f = [float(s) for s in prep.scales]
        self.p_ptr = prep.p_ptr.tolist()
        self.p_mult = prep.p_mult.astype(np.float64)
        self.cls = np.zeros(len(prep.mult), dtype=np.int64)
        self.kw = prep.max_weight + 1
        self.uniform = prep.max_weight == 1
        b0f = float(voter_budget)
        self.tol_b = REL * max(abs(b0f), 1.0)
        self.bf = np.zeros(1024)  # float budget of each class; 0 = initial, 1 = exhausted
        self.bf[0] = b0f
        self.ef = np.zeros(1024)  # bound of |float budget - exact budget| (exhausted: 0)
        self.ef[0] = 2 * U * abs(b0f)  # float() of a rational: within an ulp
        self.n_cls = 2
        self.starts: list[int] = []  # classes made in round r: starts[r] .. + len(parents[r])
        self.parents: list[np.ndarray] = []
        self.weights: list[np.ndarray] = []
        self.exact_b: dict[int, Any] = {0: voter_budget, 1: Q(0)}
        self.round_pairs: list[tuple] = []
        self.exact_share: dict[int, Any] = {}
        self.rho = [np.inf] * num_p  # last known price: a lower bound of the current one
        self.remaining: set[int] = set()
        for j in range(num_p):
            if prep.weight_total[j] > 0:
                self.rho[j] = self.cost_f[j] / (prep.weight_total[j] * self.scale_f[j])
                self.remaining.add(j)
        self.dirty = [True] * num_p
        self.cache: list[Any] = [None] * num_p
        self.selected: list[int] = []
        self.work = 0.0  # estimated seconds of this Python work (deterministic, see WORK_*)

    def copy(self) -> FastState:
        """Return an independent copy (for exploring two purchase orders)."""
        other = object.__new__(FastState)
        other.__dict__.update(self.__dict__)
        other.cls = self.cls.copy()
        other.bf = self.bf.copy()
        other.ef = self.ef.copy()
        for name in (
            "starts",
            "parents",
            "weights",
            "round_pairs",
            "rho",
            "dirty",
            "cache",
            "selected",
        ):
            setattr(other, name, list(getattr(self, name)))
        other.exact_b = dict(self.exact_b)
        other.exact_share = dict(self.exact_share)
        other.remaining = set(self.remaining)
        return other

    # -- exact values, rebuilt on demand ---------------------------------------------------
    def _origin(self, k: int) -> tuple[int, int, int]:
        r = bisect_right(self.starts, k) - 1
        return int(self.parents[r][k - self.starts[r]]), r, int(self.weights[r][k - self.starts[r]])

    def exact_budget(self, k: int) -> Any:
        """Return the exact budget of class ``k``."""
        chain = []
        while k not in self.exact_b:
            par, r, w = self._origin(k)
            chain.append((k, par, r, w))
            k = par
        for c, par, r, w in reversed(chain):
            value = self.exact_b[par] - self._share_of(r) * w
            self.exact_b[c] = value if value > 0 else Q(0)
        return self.exact_b[chain[0][0]] if chain else self.exact_b[k]

    def _exact_price(self, j: int, uk: list[int], uw: list[int], counts: list[int]) -> Any:
        bs = [self.exact_budget(k) for k in uk]
        cost = self.prep.costs[j]
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

    def _exact_price_np(self, j: int, uk: np.ndarray, uw: np.ndarray, counts: np.ndarray) -> Any:
        return self._exact_price(
            j, uk.tolist(), uw.astype(np.int64).tolist(), np.rint(counts).astype(np.int64).tolist()
        )

    def _walk(self, j: int, uw, counts, b, e, weighted: bool) -> tuple[float, float, Any]:
        """Return (share, its error bound, who pays all) of an affordable project, in floats.

        Supporters sorted by budget per unit of weight pay all they have until the rest,
        shared by the others, fits. The third value (positions of the classes that pay all
        they have) is None unless every class is beyond its error bound on its side of that
        partition: else the partition is not certain, nor the share (a class on the wrong
        side moves the share by its budget times its size over the others' weight). ``e``
        bounds the error of ``b``.
        """
        cost = self.cost_f[j]
        ratio = b / uw if weighted else b
        order = np.argsort(ratio)
        bo, wo, co, ro = b[order], uw[order], counts[order], ratio[order]
        cb = co * bo
        cwo = co * wo
        cm = np.zeros(len(cb))
        cb[:-1].cumsum(out=cm[1:])  # money of those before: no subtraction, no cancellation
        cw = cwo.sum() - (cwo.cumsum() - cwo)  # integers: exact
        shares = (cost - cm) / cw
        t = int(np.argmax(shares * wo <= bo + self.tol_b * 1e-3))
        share = float(shares[t])
        paid_err = float(co[:t].dot(e[order[:t]])) if t else 0.0
        g = SAFE * (len(b) + 2) * U  # rounding of a sum of len(b) terms, and of cost - cm
        err = ((1 + g) * paid_err + g * (cost + cm[t])) / cw[t] + SAFE * U * share
        # Each class's margin, budget - share x weight, must be beyond its bound (its budget's,
        # the share's, and the margin's own rounding on its operands): below 0 before t,
        # above after. Per unit of weight the margins grow along the order and every bound is
        # at most (max e + err)(1 + SU) + SU (ratio + share), so the two classes around t
        # settle it for all; only when they do not, each class is checked with its own bound.
        su = SAFE * U
        slack = (float(e.max()) + err) * (1 + su)
        r_lo, r_hi = float(ro[t - 1]) if t else 0.0, float(ro[t])
        if (t == 0 or share - r_lo > slack + su * (r_lo + share)) and (
            r_hi - share > slack + su * (r_hi + share)
        ):
            return share, err, order[:t]
        eo = e[order]
        margin = bo - share * wo
        bound = (eo + wo * err) * (1 + su) + su * (bo + share * wo)
        if np.any(margin[:t] >= -bound[:t]) or np.any(margin[t:] <= bound[t:]):
            return share, err, None
        return share, err, order[:t]

    def _exact_price_known(self, j: int, uk, uw, counts, b, e) -> Any:
        """Return the exact share of an affordable project from its float budgets ``b``.

        When every supporter class is surely (beyond its error bound ``e`` and the share's)
        able to pay its full share or not, the partition is certain and the exact share is
        ``(cost - exact money of the classes that pay all they have) / weight of the
        others``; the exhausted class holds exactly 0, so often no exact budget is needed.
        Otherwise compute it all exactly.
        """
        _, _, poor = self._walk(j, uw, counts, b, e, True)
        if poor is None:
            return self._exact_price_np(j, uk, uw, counts)
        rich_weight = int(np.rint(np.dot(counts, uw) - np.dot(counts[poor], uw[poor])))
        paid = Q(0)
        for k, c in zip(
            uk[poor].tolist(), np.rint(counts[poor]).astype(np.int64).tolist(), strict=True
        ):
            if k != 1:
                paid += c * self.exact_budget(k)
        return (self.prep.costs[j] - paid) / rich_weight

    def _share_of(self, r: int) -> Any:
        if r not in self.exact_share:
            uk, uw, counts, j, b, e = self.round_pairs[r]
            self.exact_share[r] = self._exact_price_known(j, uk, uw, counts, b, e)
        return self.exact_share[r]

    # -- prices ------------------------------------------------------------------------------
    def _pairs(self, j: int) -> tuple:
        lo, hi = self.p_ptr[j], self.p_ptr[j + 1]
        self.work += WORK_EVAL + WORK_ENTRY * (hi - lo)
        k = self.cls[self.prep.p_group[lo:hi]]
        if self.uniform:
            if self.n_cls <= 4 * (hi - lo):  # few classes: count them all
                full = np.bincount(k, weights=self.p_mult[lo:hi], minlength=self.n_cls)
                uk = full.nonzero()[0]
                return lo, hi, uk, np.ones(len(uk)), full[uk], None
            uk, inv = np.unique(k, return_inverse=True)
            return lo, hi, uk, np.ones(len(uk)), np.bincount(inv, weights=self.p_mult[lo:hi]), inv
        key = k * self.kw + self.prep.p_w[lo:hi]
        uniq, inv = np.unique(key, return_inverse=True)
        counts = np.bincount(inv, weights=self.p_mult[lo:hi])
        return lo, hi, uniq // self.kw, (uniq % self.kw).astype(np.float64), counts, inv

    def _evaluate(self, j: int) -> tuple | None:
        lo, hi, uk, uw, counts, inv = self._pairs(j)
        b = self.bf[uk]
        e = self.ef[uk]
        avail = float(np.dot(counts, b))
        cost = self.cost_f[j]
        exact = None
        # what the sum may be off by: the budgets' bounds and the rounding of the sum and of
        # the cost, measured on the operands (never below REL, as before)
        g = SAFE * (len(b) + 2) * U
        close = max(REL * cost, (1 + g) * float(np.dot(counts, e)) + g * (avail + cost))
        if avail < cost - close:
            return None
        if avail > cost + close:
            share, err, poor = self._walk(j, uw, counts, b, e, inv is not None)
            if poor is not None and err <= REL * share:
                return share, lo, hi, uk, uw, counts, inv, exact, err
        # too close to call in floats: affordability, the partition or the share itself
        exact = self._exact_price_np(j, uk, uw, counts)
        if exact is None:
            return None
        share = float(exact)
        return share, lo, hi, uk, uw, counts, inv, exact, SAFE * U * share

    def price(self, j: int) -> float | None:
        """Return the current float price of ``j`` (evaluating it if needed), None if out."""
        if j not in self.remaining:
            return None
        if self.dirty[j]:
            ev = self._evaluate(j)
            self.dirty[j] = False
            if ev is None:
                self.remaining.discard(j)
                self.rho[j] = np.inf
                return None
            self.cache[j] = ev
            self.rho[j] = ev[0] / self.scale_f[j]
        return self.rho[j]

    def exact_rho(self, j: int) -> Any:
        """Return the exact current price of ``j`` (evaluated, not dirty), None if out."""
        ev = self.cache[j]
        if ev[7] is None:
            _, lo, hi, uk, uw, counts, inv, _, err = ev
            exact = self._exact_price_known(j, uk, uw, counts, self.bf[uk], self.ef[uk])
            self.cache[j] = (*ev[:7], exact, err)
            ev = self.cache[j]
        return None if ev[7] is None else ev[7] / self.prep.scales[j]

    def argmin(self, keys: list[Any]) -> tuple[int | None, list[int]]:
        """Return (the project MES buys next, the projects tied with it) or (None, [])."""
        while True:
            best = None
            reached: list[int] = []
            rho = self.rho
            for j in sorted(self.remaining, key=rho.__getitem__):
                if best is not None and rho[j] > best * CLOSE:
                    break
                value = self.price(j)
                if value is None:
                    continue
                reached.append(j)
                if best is None or value < best:
                    best = value
            if best is None:
                return None, []
            close = [j for j in reached if rho[j] <= best * CLOSE]
            if len(close) == 1:
                return close[0], []
            exact_vals = {}
            for j in close:
                value = self.exact_rho(j)
                if value is None:  # exactly unaffordable after all
                    self.remaining.discard(j)
                    rho[j] = np.inf
                else:
                    exact_vals[j] = value
            if not exact_vals:
                continue
            low = min(exact_vals.values())
            tied = [j for j, v in exact_vals.items() if v == low]
            chosen = min(tied, key=keys.__getitem__)
            return chosen, (sorted(tied, key=keys.__getitem__) if len(tied) > 1 else [])

    def buy(self, chosen: int) -> None:
        """Buy ``chosen`` (evaluated, not dirty): supporters pay, classes split."""
        share, lo, hi, uk, uw, counts, inv, exact, err = self.cache[chosen]
        r = len(self.selected)
        b = self.bf[uk]
        e = self.ef[uk]
        self.round_pairs.append((uk, uw, counts, chosen, b, e))
        if exact is not None:
            self.exact_share[r] = exact
        rest = b - share * uw
        # the new budget's error bound: the old one, the share's, and this subtraction's
        # rounding on its operands (not on the possibly tiny result)
        bound = (e + uw * err) * (1 + SAFE * U) + SAFE * U * (b + share * uw)
        new = np.empty(len(uk), dtype=np.int64)
        poor = rest < -bound  # surely paid all it had: exactly 0 (the exhausted class)
        new[poor] = 1
        idx = (~poor).nonzero()[0]
        n_cls = self.n_cls
        if n_cls + len(idx) > len(self.bf):
            size = len(self.bf)
            while n_cls + len(idx) > size:
                size *= 2
            self.bf = np.resize(self.bf, size)
            self.ef = np.resize(self.ef, size)
        ids = np.arange(n_cls, n_cls + len(idx))
        new[idx] = ids
        self.bf[ids] = np.maximum(rest[idx], 0.0)
        self.ef[ids] = bound[idx]
        self.starts.append(n_cls)
        self.parents.append(uk[idx])
        self.weights.append(uw[idx].astype(np.int64))
        self.n_cls = n_cls + len(idx)
        groups = self.prep.p_group[lo:hi]
        if inv is None:
            remap = np.zeros(self.n_cls, dtype=np.int64)
            remap[uk] = new
            self.cls[groups] = remap[self.cls[groups]]
        else:
            self.cls[groups] = new[inv]
        self.selected.append(chosen)
        self.remaining.discard(chosen)
        if self.prep.neighbours is not None:
            dirty = self.dirty
            for p in self.prep.neighbours[chosen].tolist():
                dirty[p] = True
        else:
            self.dirty = [True] * self.prep.num_projects


def mes_once_fast(prep: Prepared, voter_budget: Any, keys: list[Any]) -> MESRun:
    """Run MES once from ``voter_budget`` per voter; return the purchases (exactly).

    Values the float bounds do not cover (see :func:`floats_fit`) go to the exact run.
    """
    if not floats_fit(prep, voter_budget):
        return mes_once(prep, voter_budget, keys)
    state = FastState(prep, voter_budget)
    rounds: list[MESRound] = []
    while True:
        chosen, tied = state.argmin(keys)
        if chosen is None:
            break
        state.buy(chosen)
        if tied:
            rounds.append(MESRound(chosen, None, None, {}, 0, tuple(tied)))
    return MESRun(voter_budget, state.selected, rounds, state.cls, [], state.work)


MARGIN = 1e-7


def mes_interval(
    prep: Prepared, low: Any, high: Any, keys: list[Any], max_branches: int = 6
) -> list[int] | None:
    """Return the projects MES buys at *every* per-voter budget in [low, high], or None.

    None means "not proven", never "different". The proof runs MES at ``low`` and ``high``
    in lockstep along one purchase order, and rests on one fact: along a fixed purchase
    order, more money per voter leaves every voter at least as much money at every round
    (a price only falls when budgets rise, and what is left is ``max(0, budget - price)``),
    so every price is a non-increasing function of the budget. Hence at any budget in
    between that follows this order so far, a project's price lies between its price at
    ``high`` (lower bound; an older price also bounds it from below) and its price at
    ``low`` (upper bound). A round is proven when the project bought at ``low`` is dearer
    at ``low`` than every other project at ``high`` (or exactly as dear and first in the
    tie-break order): it is then bought next at every budget in between. When several
    projects overlap in that sense but share no supporter, buying one changes nothing for
    the others: in any order they are all bought before anything else and leave the same
    state, so the round buys them all. When they share supporters, each one that could come
    first is explored as its own branch (at most ``max_branches``); the interval is proven
    when every branch ends with the same set of projects.
    """
    if not (floats_fit(prep, low) and floats_fit(prep, high)):
        return None  # beyond the float bounds: not proven, Add1 takes single exact steps
    neighbours = prep.neighbours
    stack = [(FastState(prep, low), FastState(prep, high))]
    result: set[int] | None = None
    branches = 1
    while stack:
        lo_state, hi_state = stack.pop()
        while True:
            c, _ = lo_state.argmin(keys)
            if c is None:
                other, _ = hi_state.argmin(keys)
                if other is not None:
                    return None
                final = set(lo_state.selected)
                if result is None:
                    result = final
                elif final != result:
                    return None
                break
            group = [c]
            uppers = {c: lo_state.rho[c]}
            top = uppers[c]
            grown = True
            while grown:
                grown = False
                limit = top * (1 + MARGIN)
                for j in sorted(hi_state.remaining, key=hi_state.rho.__getitem__):
                    if j in uppers:
                        continue
                    if hi_state.rho[j] > limit:
                        break
                    v = hi_state.price(j)
                    if v is None or v > limit:
                        continue
                    if len(group) == 1:  # near a tie with c: settle it exactly
                        ex_c = lo_state.exact_rho(c)
                        ex_j = hi_state.exact_rho(j)
                        if ex_j is None or ex_c < ex_j or (ex_c == ex_j and keys[c] < keys[j]):
                            continue
                    upper = lo_state.price(j)
                    if upper is None:  # affordable at high, not at low: not proven
                        return None
                    group.append(j)
                    uppers[j] = upper
                    top = max(top, upper)
                    grown = True
                    break
            independent = True
            if len(group) > 1:
                if neighbours is None:
                    return None
                for a in range(len(group)):
                    near = set(neighbours[group[a]].tolist())
                    if any(group[b] in near for b in range(a + 1, len(group))):
                        independent = False
                        break
            if independent:
                for j in sorted(group, key=keys.__getitem__):
                    if lo_state.price(j) is None or hi_state.price(j) is None:
                        return None
                    lo_state.buy(j)
                    hi_state.buy(j)
                continue
            # dependent: branch on every project that could be bought first
            lowest_upper = min(uppers.values()) * (1 + MARGIN)
            firsts = [j for j in group if hi_state.rho[j] <= lowest_upper]
            for j in firsts:
                if lo_state.price(j) is None or hi_state.price(j) is None:
                    return None
            branches += len(firsts) - 1
            if branches > max_branches:
                return None
            for j in firsts[1:]:
                lo_copy, hi_copy = lo_state.copy(), hi_state.copy()
                lo_copy.buy(j)
                hi_copy.buy(j)
                stack.append((lo_copy, hi_copy))
            lo_state.buy(firsts[0])
            hi_state.buy(firsts[0])
    return sorted(result) if result is not None else None
