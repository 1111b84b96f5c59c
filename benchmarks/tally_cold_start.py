"""Whole-process time of ``civicbudget tally``: the first run after an install against the next.

For each file, ``civicbudget tally FILE --rule mes --completion add1-greedy --json`` (MES +
Add1 + greedy, the slowest rule) timed from outside as a subprocess, each time with an
empty numba cache (a fresh ``NUMBA_CACHE_DIR``, as after an install):

- ``install``: ``civicbudget tally --warm``, the step ``make install`` runs (compiling the
  compiled MES run: what the first tally used to pay);
- ``first``: the first tally after it; ``warm``: the median of the next ``--repeat`` ones;
- ``cold``: the first tally on another empty cache *without* the install step (Add1 then
  runs in Python and the compile starts in the background for the next run; it is waited
  for, not counted).

Printed beside pabutools' time for the same rule (reference.json, or live with --live) and
the in-process rule time of our JSON output. Target: cold within 1.5x of warm.

    python benchmarks/tally_cold_start.py [--files A.pb B.pb] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(os.environ.get("CIVICBUDGET_SHARED_DIR", "/work/shared"))
PABULIB = SHARED / "pabulib"
FILES = ["Poland_Lodz_2022.pb", "Poland_Warszawa_2026.pb"]
RULE = ["--rule", "mes", "--completion", "add1-greedy", "--json"]
REF_KEY = "mes_cost_add1_greedy"


def command() -> list[str]:
    script = Path(sys.executable).parent / "civicbudget"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from civicbudget.cli import main; sys.exit(main())"]


def run(args: list[str], env: dict) -> tuple[float, dict | None]:
    start = time.perf_counter()
    out = subprocess.run(
        [*command(), "tally", *args], env=env, capture_output=True, text=True, check=True
    )
    seconds = time.perf_counter() - start
    try:
        return seconds, json.loads(out.stdout)
    except json.JSONDecodeError:
        return seconds, None


def wait_ready(cache: Path, limit: float = 180.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        if any(cache.rglob("civicbudget-mes-kernel-*.ready")):
            # the stamp is written after numba's cache: give the process a moment to exit
            time.sleep(0.5)
            return time.perf_counter() - start
        time.sleep(0.2)
    raise SystemExit(f"the background compile did not finish within {limit:.0f} s")


def bench(name: str, repeat: int) -> dict:
    path = PABULIB / name
    ref = json.loads((PABULIB / "reference.json").read_text()).get(name, {}).get(REF_KEY)
    row: dict = {"file": name, "pabu": ref["seconds"] if ref else None}
    base = {k: v for k, v in os.environ.items() if k != "CIVICBUDGET_TALLY_NO_JIT"}
    base.pop("CIVICBUDGET_TALLY_NO_BACKGROUND", None)
    # 1. as after `make install`: an empty cache, the install step, then the first tally
    cache = Path(tempfile.mkdtemp(prefix="tally-install-"))
    try:
        env = {**base, "NUMBA_CACHE_DIR": str(cache)}
        row["compile"], _ = run(["--warm"], env)
        row["first"], data = run([str(path), *RULE], env)
        row["first_rule"] = data["seconds"]["rule"] if data else None
        winners = data["winners"] if data else None
        if ref and winners is not None:
            row["same"] = sorted(winners) == sorted(ref["winners"])
        warm = [run([str(path), *RULE], env) for _ in range(repeat)]
        row["warm"] = statistics.median(s for s, _ in warm)
        row["warm_rule"] = statistics.median(d["seconds"]["rule"] for _, d in warm if d)
        assert all(d and d["winners"] == winners for _, d in warm)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    # 2. without the install step: Add1 in Python, the compile left to the background
    cache = Path(tempfile.mkdtemp(prefix="tally-cold-"))
    try:
        env = {**base, "NUMBA_CACHE_DIR": str(cache)}
        row["cold"], data = run([str(path), *RULE], env)
        row["cold_rule"] = data["seconds"]["rule"] if data else None
        assert data and data["winners"] == winners
        wait_ready(cache)  # the background compile: not counted, but not left running
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    row["ratio"] = row["first"] / row["warm"]
    row["cold_ratio"] = row["cold"] / row["warm"]
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="+", default=FILES)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"civicbudget tally {' '.join(RULE[:-1])}: whole process, seconds (load {load:.1f})")
    header = (
        f"{'file':28} {'install':>7} {'first':>6} {'warm':>6} {'first/warm':>10} "
        f"{'cold':>6} {'cold/warm':>9} {'rule 1st':>8} {'rule warm':>9} {'rule cold':>9} "
        f"{'pabu':>7} {'x 1st':>6} {'x warm':>6} {'x cold':>6} same"
    )
    print(header)
    print("-" * len(header))
    worst = worst_cold = 0.0
    for name in args.files:
        r = bench(name, args.repeat)
        worst = max(worst, r["ratio"])
        worst_cold = max(worst_cold, r["cold_ratio"])
        pabu = r["pabu"]
        print(
            f"{name[:28]:28} {r['compile']:7.2f} {r['first']:6.2f} {r['warm']:6.2f} "
            f"{r['ratio']:10.2f} {r['cold']:6.2f} {r['cold_ratio']:9.2f} "
            f"{r['first_rule']:8.2f} {r['warm_rule']:9.2f} {r['cold_rule']:9.2f} "
            + (
                f"{pabu:7.1f} {pabu / r['first']:6.0f} {pabu / r['warm']:6.0f} "
                f"{pabu / r['cold']:6.0f}"
                if pabu
                else f"{'-':>7} {'-':>6} {'-':>6} {'-':>6}"
            )
            + f" {'yes' if r.get('same') else 'no' if 'same' in r else '-'}"
        )
    print(
        "whole process, from outside. install: `civicbudget tally --warm` on an empty numba "
        "cache (the step `make install` runs; what the first tally paid before); first: the "
        "first tally after it; warm: median of the next runs; cold: the first tally on an "
        "empty cache without the install step (Add1 in Python, compiled in the background "
        "for the next run); rule: in-process rule time (--json); pabu: pabutools' rule alone "
        "(reference.json); x = pabu / ours"
    )
    verdict = "met" if worst <= 1.5 else "NOT met"
    print(f"first tally after install within 1.5x of a warm one: {verdict} (worst {worst:.2f}x)")
    print(f"without the install step: worst {worst_cold:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
