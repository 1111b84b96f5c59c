"""Simulated audits of a greedy count: picks to confirm correct records at diluted margins
of 5%, 10% and 20%, and how often records altered to change the outcome reach a full count.

    .venv/bin/python benchmarks/audit_simulation.py [--trials 1000]
"""

from __future__ import annotations

import argparse
import random
import statistics

from civicbudget.rla import greedy_assertions, greedy_replay, run_audit

COSTS = {"A": 60, "B": 60, "C": 30}
RANK = {p: p for p in COSTS}
PAPER = 4000
MANIFEST = [("box 1", list(range(1, 1501))), ("box 2", list(range(1, 1001))),
            ("box 3", list(range(1, 1501)))]
OFFSET = {"box 1": 0, "box 2": 1500, "box 3": 2500}


def scope(v, rng):
    a = (PAPER + round(v * PAPER)) // 2
    ballots = [frozenset({"A"})] * a + [frozenset({"B"})] * (PAPER - a)
    rng.shuffle(ballots)
    return [b | {"C"} if rng.random() < 0.5 else b for b in ballots]


def votes(ballots):
    v = dict.fromkeys(COSTS, 0)
    for b in ballots:
        for p in b:
            v[p] += 1
    return v


def runs(records, truth, trials, base):
    vv = votes(records)
    assertions = greedy_assertions(COSTS, 100, vv, greedy_replay(COSTS, 100, vv, RANK), RANK)
    return [run_audit(str(31415926535897932384 + 7919 * t + base), MANIFEST,
                      lambda b, k: records[OFFSET[b] + k - 1], lambda b, k: truth[OFFSET[b] + k - 1],
                      assertions) for t in range(trials)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=1000)
    args = parser.parse_args()
    for v in (0.05, 0.10, 0.20):
        records = scope(v, random.Random(1))
        sizes = [r.evaluation.compared for r in runs(records, records, 20, 0)]
        print(f"margin {v:.0%}: correct records confirmed after {statistics.median(sizes):.0f} picks "
              f"(max {max(sizes)}); Kaplan-Markov with no error needs "
              f"{sizes[0] / 1.15:.0f} (ratio 1.15 = planned head-room)")
    for v in (0.05, 0.10, 0.20):
        records = scope(v, random.Random(2))
        truth, vt, i = list(records), votes(records), 0
        while vt["A"] - vt["B"] > -2:
            if "A" in truth[i]:
                truth[i] = (truth[i] - {"A"}) | {"B"}
                vt = votes(truth)
            i += 1
        done = runs(records, truth, args.trials, 1)
        full = sum(r.decision == "full_count" for r in done) / len(done)
        print(f"margin {v:.0%}, records altered to flip the outcome: full count in {full:.1%} of "
              f"{len(done)} trials (risk limit 5%: at least 95% required)")


if __name__ == "__main__":
    main()
