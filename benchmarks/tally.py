"""Benchmark civicbudget.tally against pabutools on the shared pabulib elections.

For each instance: parse time (ours, and pabutools' when run live), MES without completion,
and MES + Add1 + greedy (equalshares.net's "add1u"; cost utilities for approval ballots,
points for points/ranked ballots), each checked against reference.json. pabutools runs
live, in this process, when reference.json records at most --live-limit seconds for the
rule; otherwise its recorded time is used and marked "rec" (pabutools takes minutes there).

    python benchmarks/tally.py                 # the four largest elections + a few small ones
    python benchmarks/tally.py --quick         # small instances only, pabutools live
    python benchmarks/tally.py --files Poland_Warszawa_2026.pb --live-limit 0
    python benchmarks/tally.py --memory        # 500,000 synthetic voters x 300 projects

Add1 runs MES many times through a compiled loop (numba, decision 0008) on large
elections. Its one-off costs are reported, not hidden: `add1+g` is the time in a process
that has already loaded it; `1st` is the same tally as the first thing a fresh process does
(importing numba and loading the compiled code from its cache: once per process); the line
above the table gives the compile time with an empty cache (once per install).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CIVICBUDGET_SHARED_DIR", REPO.parent / "shared"))
PABULIB = SHARED / "pabulib"
LARGEST = [
    "Poland_Warszawa_2026.pb",
    "Poland_Warszawa_2020_Praga-Poludnie.pb",
    "Poland_Krakow_2024.pb",
    "Poland_Lodz_2022.pb",
]
SMALL = [
    "Poland_Wieliczka_2023_Green_Budget.pb",
    "Netherlands_Assen_2024.pb",
    "Poland_Swiecie_2023.pb",
    "Poland_Katowice_2024_Dab.pb",
    "Canada_Stanford_Dataset_PB_Dieppe_2018_vote_approvals.pb",
]


def _pabutools_rule(path: Path, key: str):
    """Run the pabutools call behind a reference rule key; return (winners, parse s, rule s)."""
    sys.path.insert(0, str(REPO / "scripts"))
    from regenerate_pabulib_reference import _load, run_rule

    start = time.perf_counter()
    _load(path)
    parse = time.perf_counter() - start
    winners, seconds = run_rule(path, key)
    return winners, parse, seconds


def bench_file(name: str, live_limit: float, first: bool = True) -> dict:
    from civicbudget.tally import REFERENCE_RULES, TallyCache, read_pabulib, tally

    ref = json.loads((PABULIB / "reference.json").read_text()).get(name, {})
    start = time.perf_counter()
    election = read_pabulib(PABULIB / name)
    parse = time.perf_counter() - start
    points = election.vote_type not in ("approval", "choose-1")
    mes_key = "mes_points" if points else "mes_cost"
    add1_key = mes_key + "_add1_greedy"
    row = {
        "file": name,
        "voters": election.num_voters,
        "projects": len(election.projects),
        "parse": parse,
    }
    if first:
        row["add1g_first"], winners = first_call(PABULIB / name, add1_key)
        if add1_key in ref:
            row["first_match"] = winners == ref[add1_key]["winners"]
    for label, key in (("mes", mes_key), ("add1g", add1_key)):
        if label == "add1g":  # load the compiled loop first: see "1st" for that cost
            tally(election, REFERENCE_RULES[key], explain=False)
        cache = TallyCache(election)
        start = time.perf_counter()
        outcome = tally(election, REFERENCE_RULES[key], explain=False, cache=cache)
        ours = time.perf_counter() - start
        row[label] = ours
        expected = ref.get(key)
        row[label + "_match"] = (
            None if expected is None else sorted(outcome.winners) == expected["winners"]
        )
        if expected is not None and expected["seconds"] <= live_limit:
            winners, pparse, theirs = _pabutools_rule(PABULIB / name, key)
            row["pabu_parse"] = pparse
            row[label + "_pabu"] = theirs
            row[label + "_src"] = "live"
            row[label + "_match"] = row[label + "_match"] and winners == expected["winners"]
        elif expected is not None:
            row[label + "_pabu"] = expected["seconds"]
            row[label + "_src"] = "rec"
    return row


FIRST_CALL = """
import json, sys, time
from civicbudget.tally import REFERENCE_RULES, read_pabulib, tally
election = read_pabulib(sys.argv[1])
start = time.perf_counter()
outcome = tally(election, REFERENCE_RULES[sys.argv[2]], explain=False)
print(json.dumps({"seconds": time.perf_counter() - start, "winners": sorted(outcome.winners)}))
"""

COMPILE = """
import json, time
start = time.perf_counter()
from civicbudget.tally import mes_kernel
from civicbudget.tally.model import Ballot, Project, election_from_ballots
from civicbudget.tally.profile import prepare
from fractions import Fraction
imported = time.perf_counter()
e = election_from_ballots(
    [Project("a", Fraction(10)), Project("b", Fraction(7))], 12,
    [Ballot("1", ("a",)), Ballot("2", ("a", "b"))],
)
kernel = mes_kernel.FloatMES(prepare(e, "cost"), ["a", "b"])
kernel.run(6)
done = time.perf_counter()
print(json.dumps({"jit": mes_kernel.AVAILABLE, "import": imported - start, "first": done - imported}))
"""


def first_call(path: Path, key: str) -> tuple[float, list[str]]:
    """Time ``key`` on ``path`` as the first tally of a fresh process (parse not counted)."""
    out = subprocess.run(
        [sys.executable, "-c", FIRST_CALL, str(path), key],
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["seconds"], data["winners"]


def jit_report() -> str:
    """Return one line: the compiled loop's import, compile (empty cache) and load times."""
    import tempfile

    timings = {}
    with tempfile.TemporaryDirectory() as empty:
        for label, env in (
            ("cold", {**os.environ, "NUMBA_CACHE_DIR": empty}),
            ("warm", dict(os.environ)),
        ):
            out = subprocess.run(
                [sys.executable, "-c", COMPILE], capture_output=True, text=True, env=env, check=True
            )
            timings[label] = json.loads(out.stdout.strip().splitlines()[-1])
    if not timings["warm"]["jit"]:
        return "compiled MES run: not available (numba not installed): Python runs only"
    return (
        f"compiled MES run (numba): import {timings['warm']['import']:.2f} s; first call "
        f"{timings['cold']['first']:.2f} s with an empty cache (compiling: once per install), "
        f"{timings['warm']['first']:.2f} s from the cache (once per process)"
    )


def print_table(rows: list[dict]) -> None:
    head = (
        f"{'instance':44} {'voters':>7} {'proj':>4} {'parse':>6} {'MES':>6} {'MES/parse':>9} "
        f"{'pabu MES':>9} {'x':>6} {'add1+g':>7} {'1st':>6} {'pabu add1+g':>12} {'x':>6} "
        f"{'same':>5}"
    )
    print(head)
    print("-" * len(head))

    def cell(r: dict, label: str) -> tuple[str, str]:
        if label + "_pabu" not in r:
            return "-", "-"
        src = "*" if r[label + "_src"] == "rec" else ""
        return f"{r[label + '_pabu']:.2f}{src}", f"{r[label + '_pabu'] / r[label]:.0f}"

    for r in rows:
        pm, xm = cell(r, "mes")
        pa, xa = cell(r, "add1g")
        same = all(r.get(k) in (True, None) for k in ("mes_match", "add1g_match", "first_match"))
        first = f"{r['add1g_first']:.2f}" if "add1g_first" in r else "-"
        print(
            f"{r['file'][:44]:44} {r['voters']:>7} {r['projects']:>4} {r['parse']:6.2f} "
            f"{r['mes']:6.2f} {r['mes'] / r['parse']:9.2f} {pm:>9} {xm:>6} {r['add1g']:7.2f} "
            f"{first:>6} {pa:>12} {xa:>6} {'yes' if same else 'NO':>5}"
        )
    print(
        "times in seconds; x = pabutools time / ours (add1+g: in a process that has loaded the "
        "compiled loop; 1st: as a fresh process's first tally); * = pabutools time recorded in "
        "reference.json (same machine kind), not run live"
    )


def memory_child(voters: int, projects: int) -> None:
    import numpy as np

    from civicbudget.tally import RuleSpec, read_pabulib, tally, write_pabulib
    from civicbudget.tally.model import Election, Project

    rng = np.random.default_rng(7)
    popularity = rng.pareto(1.5, projects) + 0.2
    popularity /= popularity.sum()
    lengths = rng.integers(1, 11, voters)
    indptr = np.concatenate(([0], np.cumsum(lengths)))
    flat = np.empty(indptr[-1], dtype=np.int32)
    for v in range(0, voters, 50_000):  # vectorised in blocks: distinct picks per voter
        hi = min(voters, v + 50_000)
        keys = rng.random((hi - v, projects)) ** (1 / popularity)
        top = np.argsort(-keys, axis=1)[:, :10]
        for i in range(hi - v):
            flat[indptr[v + i] : indptr[v + i + 1]] = top[i, : lengths[v + i]]
    from fractions import Fraction

    costs = rng.integers(10, 400, projects) * 1000
    e = Election(
        projects=tuple(Project(str(j + 1), Fraction(int(c))) for j, c in enumerate(costs)),
        budget=Fraction(int(costs.sum() // 4)),
        vote_type="approval",
        voter_ids=tuple(str(v + 1) for v in range(voters)),
        indptr=indptr.astype(np.int64),
        project_index=flat,
    )
    path = Path(os.environ.get("TMPDIR", "/tmp")) / "civicbudget_synthetic.pb"
    write_pabulib(e, path)
    del e
    t0 = time.perf_counter()
    e = read_pabulib(path)
    t1 = time.perf_counter()
    out = tally(e, RuleSpec("mes", "cost"), explain=True)
    t2 = time.perf_counter()
    out2 = tally(e, RuleSpec("greedy", "cost"), explain=True)
    t3 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    path.unlink()
    print(
        json.dumps(
            {
                "voters": voters,
                "projects": projects,
                "parse_s": round(t1 - t0, 2),
                "mes_s": round(t2 - t1, 2),
                "greedy_s": round(t3 - t2, 2),
                "mes_winners": len(out.winners),
                "greedy_winners": len(out2.winners),
                "peak_rss_mb": round(peak),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="civicbudget.tally vs pabutools")
    parser.add_argument("--quick", action="store_true", help="small instances only, pabutools live")
    parser.add_argument("--files", nargs="*", help="pabulib file names")
    parser.add_argument(
        "--live-limit",
        type=float,
        default=30.0,
        help="run pabutools live when its recorded time is at most this (s)",
    )
    parser.add_argument(
        "--no-first", action="store_true", help="skip the fresh-process (1st) timings"
    )
    parser.add_argument("--memory", action="store_true", help="500k x 300 synthetic memory test")
    parser.add_argument("--voters", type=int, default=500_000)
    parser.add_argument("--projects", type=int, default=300)
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.voters, args.projects)
        return 0
    if args.memory:
        cmd = [
            sys.executable,
            __file__,
            "--memory-child",
            "--voters",
            str(args.voters),
            "--projects",
            str(args.projects),
        ]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr[-2000:])
        if result.returncode == 0:
            peak = json.loads(result.stdout.strip().splitlines()[-1])["peak_rss_mb"]
            print(f"peak memory {peak} MB (target <= 2048 MB): {'OK' if peak <= 2048 else 'OVER'}")
        return result.returncode
    if not (PABULIB / "reference.json").is_file():
        print(f"no pabulib data at {PABULIB} (set CIVICBUDGET_SHARED_DIR)", file=sys.stderr)
        return 2
    files = args.files or (SMALL if args.quick else LARGEST + SMALL)
    rows = []
    report = jit_report()
    for name in files:
        rows.append(bench_file(name, args.live_limit, not args.no_first))
        print(f"  done {name}", file=sys.stderr, flush=True)
    print(report)
    print_table(rows)
    keys = ("mes_match", "add1g_match", "first_match")
    return 0 if all(r.get(k) is not False for r in rows for k in keys) else 1


if __name__ == "__main__":
    sys.exit(main())
