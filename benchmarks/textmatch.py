"""Benchmark ``civicbudget.textmatch``: time, peak memory and quality.

    python benchmarks/textmatch.py [--sizes 27405,300000] [--shared DIR]

For each size it builds a synthetic CSV from the labelled development set (the dev
proposals repeated across renamed communities, so every synthetic community looks
like a real one and has a known gold grouping), then runs, each in a fresh process:

* ``civicbudget textmatch cluster`` from raw text (what an officer would run), and
* a naive all-pairs baseline: character-bigram Dice >= 0.25 (its best threshold on the
  dev set) between every two texts of
  a community, joined transitively (numpy, one matrix product per community).

It prints wall time, peak resident memory (from the child's rusage), the time to
regroup 27,405 pre-analysed proposals in-process (what the platform does, since it
stores each proposal's analysis at submission), and pairwise precision / recall / F1
of both methods on the development set. Targets (issue 4): 27,405 in <= 2 min,
300,000 in <= 30 min and <= 4 GB, regrouping 27,405 in <= 20 s.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CIVICBUDGET_SHARED_DIR", REPO.parent / "shared"))
DEV = "textmatch/proposals_dev.csv"


# --- naive baseline -----------------------------------------------------------------


def _bigrams(text: str) -> set[str]:
    s = "".join(ch for ch in text if ch.isalnum())
    return {s[i : i + 2] for i in range(len(s) - 1)} or {s}


def baseline_cluster(texts: list[str], groups: list[str], threshold: float = 0.25) -> list[int]:
    """All pairs within a group, Dice on character bigrams, transitive closure."""
    by_group: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        by_group[g].append(i)
    parent = list(range(len(texts)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for idx in by_group.values():
        grams = [_bigrams(texts[i]) for i in idx]
        vocab: dict[str, int] = {}
        for gs in grams:
            for g in gs:
                vocab.setdefault(g, len(vocab))
        m = np.zeros((len(idx), len(vocab)), dtype=np.float32)
        for r, gs in enumerate(grams):
            m[r, [vocab[g] for g in gs]] = 1.0
        inter = m @ m.T
        sizes = m.sum(axis=1)
        dice = 2 * inter / (sizes[:, None] + sizes[None, :])
        rows, cols = np.nonzero(np.triu(dice >= threshold, k=1))
        for a, b in zip(rows.tolist(), cols.tolist(), strict=True):
            ra, rb = find(idx[a]), find(idx[b])
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
    roots: dict[int, int] = {}
    return [roots.setdefault(find(i), len(roots)) for i in range(len(texts))]


def _baseline_main(inp: str, out: str) -> int:
    with open(inp, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    numbers = baseline_cluster([r["text"] for r in rows], [r["community"] for r in rows])
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "cluster"])
        for r, n in zip(rows, numbers, strict=True):
            w.writerow([r["id"], n])
    return 0


# --- helpers -------------------------------------------------------------------------


def _run(cmd: list[str]) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MB) of that child alone."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss / 1024


def _synthetic(dev_rows: list[dict[str, str]], n: int, path: Path) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "community", "text", "cluster"])
        k = 0
        written = 0
        while written < n:
            for r in dev_rows:
                if written >= n:
                    break
                w.writerow(
                    [f"s{written}", f"{r['community']}-{k}", r["text"], f"{r['cluster']}-{k}"]
                )
                written += 1
            k += 1


def _prf(gold_path: Path, pred_path: Path) -> tuple[float, float, float]:
    from civicbudget.textmatch.cli import pairwise_scores

    with open(gold_path, encoding="utf-8") as f:
        gold = {r["id"]: (r["community"], r["cluster"]) for r in csv.DictReader(f)}
    with open(pred_path, encoding="utf-8") as f:
        pred = {r["id"]: r["cluster"] for r in csv.DictReader(f)}
    p, r, f1, *_ = pairwise_scores(gold, pred)
    return p, r, f1


def _cli(inp: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-c",
        "import sys; from civicbudget.cli import main; sys.exit(main(sys.argv[1:]))",
        "textmatch",
        "cluster",
        str(inp),
        "--text-column",
        "text",
        "--id-column",
        "id",
        "--group-column",
        "community",
        "--out",
        str(out),
    ]


def _baseline_cmd(inp: Path, out: Path) -> list[str]:
    return [sys.executable, __file__, "--baseline", str(inp), str(out)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="27405,300000")
    ap.add_argument("--shared", default=str(SHARED))
    ap.add_argument("--baseline", nargs=2, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--long", type=int, default=0, metavar="N",
                    help="only: group N long messages in one batch with no community known")
    args = ap.parse_args(argv)
    if args.baseline:
        return _baseline_main(*args.baseline)
    if args.long:
        _long_batch(args.long)
        return 0

    dev = Path(args.shared) / DEV
    if not dev.exists():
        print(f"no development set at {dev} (set CIVICBUDGET_SHARED_DIR)", file=sys.stderr)
        return 2
    with open(dev, encoding="utf-8") as f:
        dev_rows = list(csv.DictReader(f))
    sizes = [int(s) for s in args.sizes.split(",") if s]
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        print("\n== quality on the development set (pairwise, pairs within a community)")
        t_ours, _ = _run(_cli(dev, d / "dev_ours.csv"))
        t_base, _ = _run(_baseline_cmd(dev, d / "dev_base.csv"))
        for name, path, t in (
            ("textmatch", d / "dev_ours.csv", t_ours),
            ("baseline (bigram Dice>=0.25, all pairs)", d / "dev_base.csv", t_base),
        ):
            p, r, f1 = _prf(dev, path)
            print(f"{name:40s} precision {p:.3f}  recall {r:.3f}  F1 {f1:.3f}  ({t:.1f} s)")

        print("\n== scale (fresh process each; wall time, peak RSS)")
        print(f"{'proposals':>10} {'method':<12} {'seconds':>9} {'peak MB':>9} {'F1 synth':>9}")
        for n in sizes:
            src = d / f"synthetic_{n}.csv"
            _synthetic(dev_rows, n, src)
            rows = {}
            for name, cmd in (
                ("textmatch", _cli(src, d / f"ours_{n}.csv")),
                ("baseline", _baseline_cmd(src, d / f"base_{n}.csv")),
            ):
                out = d / f"{'ours' if name == 'textmatch' else 'base'}_{n}.csv"
                wall, rss = _run(cmd)
                _, _, f1 = _prf(src, out)
                rows[name] = (wall, rss)
                print(f"{n:>10} {name:<12} {wall:>9.1f} {rss:>9.0f} {f1:>9.3f}")
            (tw, tr), (bw, br) = rows["textmatch"], rows["baseline"]
            print(
                f"{n:>10} {'ratio':<12} {tw / bw:>8.2f}x {tr / br:>8.2f}x   (textmatch / baseline)"
            )

        print("\n== regrouping pre-analysed proposals (in-process, as the platform does)")
        from civicbudget.textmatch import analyze, cluster_analyses

        n = 27405
        texts, groups = [], []
        k = 0
        while len(texts) < n:
            for r in dev_rows[: n - len(texts)]:
                texts.append(r["text"])
                groups.append(f"{r['community']}-{k}")
            k += 1
        t = time.perf_counter()
        analyses = [analyze(x) for x in texts]
        t_an = time.perf_counter() - t
        t = time.perf_counter()
        cluster_analyses(analyses, groups)
        t_re = time.perf_counter() - t
        print(f"analyse {n} once: {t_an:.1f} s ({1000 * t_an / n:.2f} ms each, at submission)")
        print(f"regroup {n} from stored analyses: {t_re:.2f} s")
        _incremental(dev_rows)
    return 0


def _long_batch(n: int) -> None:
    """A city-wide portal's worst case: ``n`` long messages, one batch, no community known.

    Messages are the stress set's (benchmarks/data/textmatch_stress.csv), each retold: one
    sentence dropped, a tail added, so that no two are the same text.
    """
    import random
    import resource
    from collections import Counter

    from civicbudget.textmatch import analyze, cluster_analyses

    data = Path(__file__).resolve().parent / "data" / "textmatch_stress.csv"
    with open(data, encoding="utf-8") as f:
        pool = [r["text"] for r in csv.DictReader(f)]
    rng = random.Random(1)
    texts = []
    while len(texts) < n:
        parts = rng.choice(pool).split("。")
        if len(parts) > 2:
            parts.pop(rng.randrange(1, len(parts)))
        tail = rng.choice(["", "谢谢！", "盼复。", "急！", f"第{rng.randint(1, 99)}次反映。"])
        texts.append("。".join(parts) + tail)
    t = time.perf_counter()
    analyses = [analyze(x) for x in texts]
    t_an = time.perf_counter() - t
    t = time.perf_counter()
    numbers = cluster_analyses(analyses, [None] * n)
    t_gr = time.perf_counter() - t
    largest = max(Counter(numbers).values())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{n} long messages, one batch, no community known: analyse {t_an:.1f} s, "
          f"group {t_gr:.1f} s, largest group {largest} ({largest / n:.1%}), peak {peak:.0f} MB")


def _incremental(dev_rows: list[dict[str, str]], district: int = 30_000, communities: int = 10,
                 probes: int = 60) -> None:
    """Suggestions for one new proposal in a district of ``district`` proposals.

    The district is ``communities`` communities of equal size (the dev set's texts, shuffled,
    so every community holds every kind of request); each probe is a held-back text compared
    with the stored analyses of its community, as the platform does when a proposal arrives.
    The reference in the same run is a full regroup of that community.
    """
    import random

    from civicbudget.textmatch import analyze, cluster_analyses, suggest_for

    rng = random.Random(7)
    per = district // communities
    pool = [r["text"] for r in dev_rows]
    cache = {t: analyze(t) for t in pool}
    community = [cache[rng.choice(pool)] for _ in range(per)]
    labels = cluster_analyses(community)
    times = []
    for _ in range(probes):
        new = analyze(rng.choice(pool) + "，希望尽快解决")
        t = time.perf_counter()
        suggest_for(new, community, labels)
        times.append(time.perf_counter() - t)
    times.sort()
    t = time.perf_counter()
    cluster_analyses([*community, new])
    full = time.perf_counter() - t
    p50, p95 = times[len(times) // 2], times[int(len(times) * 0.95)]
    print(f"\n== one new proposal, district of {district} in {communities} communities of {per}")
    print(f"suggestions for a new proposal: p50 {1000 * p50:.0f} ms, p95 {1000 * p95:.0f} ms, "
          f"max {1000 * times[-1]:.0f} ms (goal < 200 ms)")
    print(f"reference, regrouping its community of {per + 1}: {1000 * full:.0f} ms "
          f"(ratio p95 / regroup {p95 / full:.2f}x)")


if __name__ == "__main__":
    sys.exit(main())
