"""Benchmark what the Xihu-style 三单 cycle adds to the demo's start (budget: +2 s).

    python benchmarks/demo_partners.py [--scale 1]

Loads the whole demo once into a fresh SQLite file (as ``civicbudget demo`` does) and times,
in the same run, ``demo.partners_data.load_demo_partners`` (typed-in proposals, a vote, three
organisations, bids, two orders taken and reported) inside it. Prints both, wall and CPU
time, the ratio partners / whole demo, and whether the part stays within 2 s. CPU time is
printed because wall time on a shared machine also counts other processes.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="the demo's proposal scale (1: the source's)")
    args = parser.parse_args(argv)
    os.environ["CIVICBUDGET_DATA_DIR"] = tempfile.mkdtemp(prefix="demo-partners-bench-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicbudget.settings")
    import django

    django.setup()
    from django.core.management import call_command

    import civicbudget.demo.partners_data as partners_data
    from civicbudget.demo.data import load_demo

    call_command("migrate", interactive=False, verbosity=0)
    measured: dict[str, float] = {}
    original = partners_data.load_demo_partners

    def timed(**kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return original(**kwargs)
        finally:
            measured["wall"], measured["cpu"] = time.perf_counter() - wall, time.process_time() - cpu

    partners_data.load_demo_partners = timed
    wall, cpu = time.perf_counter(), time.process_time()
    load_demo(proposal_scale=args.scale)
    total_wall, total_cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"whole demo (scale {args.scale:g}): wall {total_wall:.2f} s, cpu {total_cpu:.2f} s")
    print(f"Xihu-style 三单 cycle:        wall {measured['wall']:.2f} s, cpu {measured['cpu']:.2f} s")
    print(f"ratio partners / whole demo: wall {measured['wall'] / total_wall:.3f}, "
          f"cpu {measured['cpu'] / total_cpu:.3f}")
    within = measured["wall"] <= 2.0
    print(f"within the +2 s budget: {'yes' if within else 'no'} (wall), "
          f"{'yes' if measured['cpu'] <= 2.0 else 'no'} (cpu)")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
