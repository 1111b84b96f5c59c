"""Regenerate ``shared/pabulib/reference.json`` with pabutools (the reference engine).

For every ``.pb`` file and rule key (see ``shared/pabulib/README.md``), run pabutools 1.2.x
with exact gmpy2 fractions, lexicographic tie-breaking and identical ballots merged, and
record the sorted winners and the seconds the rule took. Each rule runs in its own process
with a time limit; a rule that does not finish is left out, as in the shipped file.

    python scripts/regenerate_pabulib_reference.py                # all files, all rules
    python scripts/regenerate_pabulib_reference.py --files Poland_Wieliczka_2023_Green_Budget.pb \
        --rules mes_cost_add1_noexh --timeout 120 --output /tmp/ref.json

Ordinal ballots are converted to points: rank r (0-based) gets ``max_length - r`` points.
pabutools is a test dependency only; civicbudget.tally never imports it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CIVICBUDGET_SHARED_DIR", REPO.parent / "shared"))
APPROVAL_KEYS = [
    "greedy_votes",
    "greedy_votes_threshold",
    "seq_phragmen",
    "max_welfare_cost",
    "mes_cost",
    "mes_cost_add1",
    "mes_cost_add1_greedy",
    "mes_cost_add1_noexh",
    "mes_cost_add1_noexh_greedy",
    "mes_card",
    "mes_card_add1",
    "mes_card_add1_greedy",
]
POINTS_KEYS = [
    "greedy_score",
    "greedy_score_threshold",
    "max_welfare_points_cost",
    "mes_points",
    "mes_points_add1",
    "mes_points_add1_greedy",
    "mes_points_cost",
    "mes_points_cost_add1",
    "mes_points_cost_add1_greedy",
    "mes_points_cost_add1_noexh",
    "mes_points_cost_add1_noexh_greedy",
]


def _load(path: Path):
    from pabutools.election import CardinalBallot, CardinalProfile, parse_pabulib

    instance, profile = parse_pabulib(str(path))
    vote_type = instance.meta["vote_type"]
    if vote_type == "ordinal":
        top = int(instance.meta.get("max_length") or max(len(b) for b in profile))
        ballots = []
        for b in profile:
            cb = CardinalBallot()
            for r, p in enumerate(b):
                if top - r > 0:
                    cb[p] = top - r
            ballots.append(cb)
        profile = CardinalProfile(ballots)
    return instance, profile.as_multiprofile(), vote_type


def _sat_classes():
    from pabutools.election import (
        Additive_Cardinal_Sat,
        AdditiveSatisfaction,
        Cardinality_Sat,
        Cost_Sat,
    )

    def points_cost(instance, profile, ballot, project, precomputed):
        return ballot.get(project, 0) * project.cost

    class PointsCost_Sat(AdditiveSatisfaction):  # noqa: N801 - pabutools naming
        def __init__(self, instance, profile, ballot):
            AdditiveSatisfaction.__init__(self, instance, profile, ballot, points_cost)

    return {
        "cost": Cost_Sat,
        "card": Cardinality_Sat,
        "points": Additive_Cardinal_Sat,
        "points_cost": PointsCost_Sat,
    }


def _threshold_instance(instance, profile, sat):
    from pabutools.election import Instance

    raw = instance.meta.get("min_project_score_threshold")
    if raw is None:
        return None
    from fractions import Fraction

    threshold = Fraction(raw)
    sats = profile.as_sat_profile(sat)
    kept = Instance(
        [p for p in instance if sats.total_satisfaction_project(p) / p.cost >= threshold],
        budget_limit=instance.budget_limit,
    )
    return kept


def run_rule(path: Path, key: str):
    """Return (sorted winners, seconds) of rule ``key`` on ``path`` with pabutools."""
    from pabutools.rules import (
        exhaustion_by_budget_increase,
        greedy_utilitarian_welfare,
        max_additive_utilitarian_welfare,
        method_of_equal_shares,
        sequential_phragmen,
    )

    instance, profile, _ = _load(path)
    sats = _sat_classes()
    start = time.perf_counter()
    if key.startswith("greedy_"):
        sat = sats["cost"] if key.startswith("greedy_votes") else sats["points_cost"]
        inst = instance
        if key.endswith("_threshold"):
            inst = _threshold_instance(instance, profile, sat)
            if inst is None:
                return None, 0.0
        out = greedy_utilitarian_welfare(inst, profile, sat_class=sat)
    elif key == "seq_phragmen":
        out = sequential_phragmen(instance, profile)
    elif key.startswith("max_welfare_"):
        sat = sats[key.removeprefix("max_welfare_")]
        out = max_additive_utilitarian_welfare(instance, profile, sat_class=sat)
    else:
        rest = key.removeprefix("mes_")
        then_greedy = rest.endswith("_greedy")
        rest = rest.removesuffix("_greedy")
        noexh = rest.endswith("_add1_noexh")
        add1 = rest.endswith("_add1") or noexh
        util = rest.removesuffix("_noexh").removesuffix("_add1")
        sat = sats[util]
        if noexh:
            out = exhaustion_by_budget_increase(
                instance,
                profile,
                method_of_equal_shares,
                {"sat_class": sat},
                budget_step=profile.num_ballots(),
                exhaustive_stop=False,
            )
        elif add1:
            out = method_of_equal_shares(instance, profile, sat_class=sat, voter_budget_increment=1)
        else:
            out = method_of_equal_shares(instance, profile, sat_class=sat)
        if then_greedy:
            # the completion is greedy by votes (approval) or by score (points), whatever MES used
            gsat = sats["cost"] if util in ("cost", "card") else sats["points_cost"]
            out = greedy_utilitarian_welfare(
                instance, profile, sat_class=gsat, initial_budget_allocation=out
            )
    return sorted(p.name for p in out), time.perf_counter() - start


def _worker(path: str, key: str, queue) -> None:
    queue.put(run_rule(Path(path), key))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", nargs="*", help="file names in shared/pabulib (default: all)")
    parser.add_argument("--rules", nargs="*", help="rule keys (default: all that apply)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per rule")
    parser.add_argument("--output", type=Path, default=SHARED / "pabulib" / "reference.json")
    args = parser.parse_args(argv)
    folder = SHARED / "pabulib"
    files = args.files or sorted(p.name for p in folder.glob("*.pb"))
    result: dict = json.loads(args.output.read_text()) if args.output.exists() else {}
    ctx = mp.get_context("spawn")
    for name in files:
        _, _, vote_type = _load(folder / name)
        keys = APPROVAL_KEYS if vote_type in ("approval", "choose-1") else POINTS_KEYS
        for key in args.rules or keys:
            queue = ctx.Queue()
            proc = ctx.Process(target=_worker, args=(str(folder / name), key, queue))
            proc.start()
            proc.join(args.timeout)
            if proc.is_alive():
                proc.terminate()
                print(f"{name} {key}: no result within {args.timeout:.0f} s", file=sys.stderr)
                continue
            if queue.empty():
                continue
            winners, seconds = queue.get()
            if winners is None:
                continue
            result.setdefault(name, {})[key] = {"winners": winners, "seconds": round(seconds, 4)}
            print(f"{name} {key}: {len(winners)} winners in {seconds:.2f} s", flush=True)
            args.output.write_text(json.dumps(result, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
