"""``civicbudget tally FILE.pb --rule ...``: compute and explain the winners of an election.

Exit status: 0 on success, 2 on bad input (a malformed file, a bad option), with a one-line
message naming the line and what is wrong; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from fractions import Fraction

from civicbudget.tally.constraints import CategoryBound, ConstraintError
from civicbudget.tally.explain import explanation_table, fmt_num, outcome_to_json
from civicbudget.tally.limits import LimitError, parse_number
from civicbudget.tally.pabulib import PabulibError, read_pabulib
from civicbudget.tally.profile import UTILITIES
from civicbudget.tally.rules import COMPLETIONS, RULES, RuleSpec, tally
from civicbudget.tally.tiebreak import TIE_BREAKS


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="civicbudget tally",
        description="Compute the winning projects of a pabulib .pb election.",
        epilog="Defaults match pabutools 1.2.x (lexicographic tie-break on project ids).",
    )
    p.add_argument("file", nargs="?", help="a pabulib .pb file")
    p.add_argument(
        "--warm",
        action="store_true",
        help="compile the tally's compiled MES run now (once per install; without it the "
        "first MES with Add1 runs in Python and compiles in the background for the next)",
    )
    p.add_argument("--rule", choices=RULES, default="mes", help="the rule (default: mes)")
    p.add_argument(
        "--utility",
        choices=UTILITIES,
        help="voter utility: cost (default for approval), cardinality, points (default for MES "
        "on points/ranked ballots), points-cost (default for greedy/max-welfare on those)",
    )
    p.add_argument(
        "--completion",
        choices=COMPLETIONS,
        default="none",
        help="MES completion: add1 (stops once exhaustive), add1-noexh (does not), "
        "each optionally followed by greedy (-greedy); mes-add1 means --completion add1",
    )
    p.add_argument("--tie-break", choices=TIE_BREAKS, default="lexicographic")
    p.add_argument(
        "--threshold",
        help="greedy: only projects whose votes (score) reach this number; 'meta' reads "
        "min_project_score_threshold from the file",
    )
    p.add_argument(
        "--no-unsupported",
        action="store_true",
        help="greedy: never fund a project with no votes (pabutools does when money is left)",
    )
    p.add_argument(
        "--no-skip", action="store_true", help="greedy: stop at the first project that does not fit"
    )
    p.add_argument(
        "--category-min",
        action="append",
        default=[],
        metavar="NAME=SHARE",
        help="a floor: projects of category NAME get at least SHARE of the budget (a number "
        "below 1 or with %%, e.g. 0.2 or 20%%) or an amount (e.g. 500000); repeatable",
    )
    p.add_argument(
        "--category-max",
        action="append",
        default=[],
        metavar="NAME=SHARE",
        help="a cap: projects of category NAME get at most SHARE of the budget or an "
        "amount; repeatable",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--explain", action="store_true", help="explain every project")
    return p


def main(argv: list[str]) -> int:
    """Run the tally command; return the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed the message
        return int(exc.code or 0)
    if args.warm:
        return _warm()
    if args.file is None:
        print("civicbudget tally: a .pb file is required (or --warm)", file=sys.stderr)
        return 2
    threshold: object = None
    if args.threshold is not None:
        if args.threshold == "meta":
            threshold = "meta"
        else:
            try:
                threshold = parse_number(args.threshold, "--threshold")
            except LimitError as exc:
                print(f"civicbudget tally: {exc} (a number or 'meta')", file=sys.stderr)
                return 2
    try:
        floors = tuple(CategoryBound.parse(t, "--category-min") for t in args.category_min)
        caps = tuple(CategoryBound.parse(t, "--category-max") for t in args.category_max)
    except ConstraintError as exc:
        print(f"civicbudget tally: {exc}", file=sys.stderr)
        return 2
    spec = RuleSpec(
        category_min=floors,
        category_max=caps,
        rule=args.rule,
        utility=args.utility,
        completion=args.completion,
        tie_break=args.tie_break,
        threshold=threshold,
        fund_unsupported=not args.no_unsupported,
        no_skip=args.no_skip,
    )
    try:
        spec = spec.validate()
        started = time.perf_counter()
        election = read_pabulib(args.file)
        parsed = time.perf_counter()
        outcome = tally(election, spec, explain=args.explain)
        done = time.perf_counter()
    except PabulibError as exc:
        print(f"civicbudget tally: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"civicbudget tally: {exc}", file=sys.stderr)
        return 2
    if outcome.info.get("mes_runs", 0) > 1:
        # Add1 ran, in Python if the compiled run was not ready: compile it for the next
        from civicbudget.tally import jit

        jit.warm_in_background()
    if args.json:
        data = outcome_to_json(outcome, election, explain=args.explain)
        data["file"] = args.file
        data["seconds"] = {"parse": round(parsed - started, 4), "rule": round(done - parsed, 4)}
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return 0
    print(
        f"{args.file}: {election.num_voters} voters, {len(election.projects)} projects, "
        f"{election.vote_type} ballots, budget {fmt_num(_n(election.budget))}"
    )
    print(
        f"rule {outcome.rule}: {len(outcome.winners)} winners, total cost {fmt_num(_n(outcome.total_cost))}"
    )
    if outcome.info.get("mes_runs", 0) > 1:
        print(
            f"Add1: {outcome.info['add1_steps']} increments, per-voter budget {fmt_num(outcome.info['voter_budget'])}"
        )
    for name, c in outcome.info.get("categories", {}).items():
        bounds = []
        if c["floor"] is not None:
            bounds.append(f"floor {fmt_num(c['floor'])}")
        if c["cap"] is not None:
            bounds.append(f"cap {fmt_num(c['cap'])}")
        print(f"category {name}: {', '.join(bounds)}; selected {fmt_num(c['selected_cost'])}")
    for t in outcome.ties:
        print(f"tie at {t.stage}: {', '.join(t.tied)} -> {t.chosen} ({spec.tie_break})")
    if args.explain:
        print()
        print(explanation_table(outcome, election))
    else:
        names = {p.id: p for p in election.projects}
        for pid in outcome.winners:
            p = names[pid]
            print(f"  {pid:>8}  {fmt_num(_n(p.cost)):>14}  {p.name}")
    return 0


def _warm() -> int:
    from civicbudget.tally import jit

    try:
        seconds = jit.warm()
    except RuntimeError as exc:
        print(f"civicbudget tally: {exc}", file=sys.stderr)
        return 2
    where = os.environ.get("NUMBA_CACHE_DIR") or str(jit.HERE / "__pycache__")
    state = "ready" if jit.ready() else "compiled, but the cache is not writable"
    print(f"compiled MES run {state} in {seconds:.2f} s (cache: {where})")
    return 0


def _n(value: Fraction) -> int | Fraction:
    # exact: fmt_num rounds a Fraction to 2 places in integers, no float() to overflow
    return value.numerator if value.denominator == 1 else value
