"""Benchmark ``civicbudget.ledger``: appends, proofs, verification, against a naive baseline.

    python benchmarks/ledger.py [--sizes 41352,500000] [--proofs 2000] [--naive 5]

For each size (41,352 is Meilan 2018's voters) it prints, in one run:

* the append rate of :meth:`BallotLog.append_ballot` (validate the ballot, encode the
  canonical entry, hash it into the tree) and of :meth:`MerkleLog.append` alone;
* inclusion and consistency proof generation and verification, mean per proof;
* the same inclusion proofs built by a naive baseline that recomputes every subtree
  from all the leaf hashes for each proof (RFC 6962's recursive definition as written),
  and the ratio naive / ours;
* writing the public export and ``verify_export`` on it (manifest, signatures, roots,
  every ballot, the .pb files and a re-tally of every scope).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import resource
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

from civicbudget.ledger import (
    BallotLog,
    ExportData,
    MerkleLog,
    ProjectSpec,
    ScopeResult,
    ScopeSpec,
    SigningKey,
    verify_consistency,
    verify_export,
    verify_inclusion,
    write_export,
)
from civicbudget.ledger.entry import parse_entry
from civicbudget.ledger.export import scope_election
from civicbudget.tally import RuleSpec, tally

UTC8 = dt.timezone(dt.timedelta(hours=8))


# --- naive baseline: RFC 6962 recursion over all leaf hashes, for every proof -----------


def _k(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def naive_mth(leaves: list[bytes], lo: int, hi: int) -> bytes:
    if hi - lo == 1:
        return leaves[lo]
    k = _k(hi - lo)
    return hashlib.sha256(
        b"\x01" + naive_mth(leaves, lo, lo + k) + naive_mth(leaves, lo + k, hi)
    ).digest()


def naive_path(m: int, leaves: list[bytes], lo: int, hi: int) -> list[bytes]:
    if hi - lo == 1:
        return []
    k = _k(hi - lo)
    if m < lo + k:
        return naive_path(m, leaves, lo, lo + k) + [naive_mth(leaves, lo + k, hi)]
    return naive_path(m, leaves, lo + k, hi) + [naive_mth(leaves, lo, lo + k)]


# --- a Meilan-like cycle -----------------------------------------------------------------


def scopes(n_communities: int) -> list[ScopeSpec]:
    rng = random.Random(3)
    out = []
    for c in range(1, n_communities + 1):
        projects = tuple(
            ProjectSpec(f"c{c}-{i}", Fraction(rng.randrange(10, 200) * 1000)) for i in range(1, 13)
        )
        out.append(
            ScopeSpec(
                f"community:{c}",
                "approval",
                Fraction(500000),
                projects,
                RuleSpec("mes", "cost", completion="add1"),
                max_length=5,
            )
        )
    return out


def fmt_rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s ({seconds:.2f} s)"


def bench(size: int, n_proofs: int, n_naive: int, do_export: bool) -> None:
    print(f"\n== {size:,} ballots ==")
    rng = random.Random(size)
    specs = scopes(max(1, size // 2000))  # about 2,000 voters per community, as in Meilan
    choices = [
        (spec, rng.sample([p.id for p in spec.projects], rng.randint(1, 5)))
        for spec in (rng.choice(specs) for _ in range(size))
    ]
    nonces = [f"{rng.getrandbits(128):032x}" for _ in range(size)]
    log = BallotLog("2018", "meilan-2018")
    t = time.perf_counter()
    for (spec, chosen), nonce in zip(choices, nonces, strict=True):
        log.append_ballot(spec, chosen, "online", nonce=nonce)
    t_append = time.perf_counter() - t
    print(f"append_ballot (validate + canonical JSON + hash + tree): {fmt_rate(size, t_append)}")
    t = time.perf_counter()
    tree = MerkleLog.from_entries(log.entries)
    t_tree = time.perf_counter() - t
    print(f"MerkleLog.append alone (rebuild from stored entries):  {fmt_rate(size, t_tree)}")
    t = time.perf_counter()
    root = tree.root()
    print(f"root of all entries: {(time.perf_counter() - t) * 1e6:.0f} us")

    indices = [rng.randrange(size) for _ in range(n_proofs)]
    t = time.perf_counter()
    proofs = [tree.inclusion_proof(i) for i in indices]
    t_proof = (time.perf_counter() - t) / n_proofs
    t = time.perf_counter()
    ok = all(verify_inclusion(tree.leaf(p.index), p.index, size, p.path, root) for p in proofs)
    t_verify = (time.perf_counter() - t) / n_proofs
    assert ok
    print(
        f"inclusion proof: generate {t_proof * 1e6:.1f} us, verify {t_verify * 1e6:.1f} us "
        f"(path length {len(proofs[0].path)}, mean over {n_proofs})"
    )

    pairs = [
        tuple(sorted((rng.randrange(1, size + 1), rng.randrange(1, size + 1))))
        for _ in range(n_proofs)
    ]
    roots = {s: tree.root(s) for pair in pairs for s in pair}
    t = time.perf_counter()
    cproofs = [tree.consistency_proof(a, b) for a, b in pairs]
    t_cons = (time.perf_counter() - t) / n_proofs
    t = time.perf_counter()
    ok = all(
        verify_consistency(a, b, roots[a], roots[b], p.path)
        for (a, b), p in zip(pairs, cproofs, strict=True)
    )
    t_cverify = (time.perf_counter() - t) / n_proofs
    assert ok
    print(f"consistency proof: generate {t_cons * 1e6:.1f} us, verify {t_cverify * 1e6:.1f} us")

    leaves = [tree.leaf(i) for i in range(size)]
    naive_times = []
    for i in indices[:n_naive]:
        t = time.perf_counter()
        path = naive_path(i, leaves, 0, size)
        naive_times.append(time.perf_counter() - t)
        assert tuple(path) == tree.inclusion_proof(i).path
    t_naive = statistics.mean(naive_times)
    print(
        f"naive baseline (recompute from all {size:,} leaves per proof): {t_naive * 1e3:.0f} ms per proof; "
        f"ratio naive / stored levels = {t_naive / t_proof:,.0f}x"
    )

    if not do_export:
        return
    key = SigningKey.from_seed(bytes(32))
    cps = []
    start = dt.datetime(2018, 6, 10, 8, tzinfo=UTC8)
    # Checkpoints every 5,000 ballots and at close, as the platform would sign them.
    rebuilt = MerkleLog()
    for k, e in enumerate(log.entries, 1):
        rebuilt.append(e)
        if k % 5000 == 0 or k == size:
            from civicbudget.ledger import Checkpoint

            cps.append(
                key.sign_checkpoint(
                    Checkpoint(
                        log.log_id, k, rebuilt.root(), (start + dt.timedelta(seconds=k)).isoformat()
                    )
                )
            )
    t = time.perf_counter()
    by_scope: dict[str, list] = {s.scope: [] for s in specs}
    for e in map(parse_entry, log.entries):
        by_scope[e.scope].append(e)
    results = []
    for spec in specs:
        outcome = tally(
            scope_election("2018", spec, by_scope[spec.scope]), spec.rule, explain=False
        )
        results.append(ScopeResult(spec, outcome.winners))
    t_tally = time.perf_counter() - t
    data = ExportData("2018", log.log_id, tuple(log.entries), tuple(cps), tuple(results))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "export"
        t = time.perf_counter()
        write_export(out, data, key)
        t_write = time.perf_counter() - t
        t = time.perf_counter()
        verified = verify_export(out)
        t_full = time.perf_counter() - t
    print(
        f"export: tally {len(specs)} scopes {t_tally:.1f} s, write {t_write:.1f} s; "
        f"verify_export {t_full:.1f} s ({len(cps)} checkpoints, {len(verified.scopes)} scopes re-tallied)"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="41352,500000")
    p.add_argument("--proofs", type=int, default=2000)
    p.add_argument("--naive", type=int, default=5, help="naive proofs per size (each is O(n))")
    p.add_argument("--no-export", action="store_true", help="skip writing and verifying an export")
    args = p.parse_args(argv)
    print(f"python {sys.version.split()[0]}; ledger benchmark")
    for size in (int(s) for s in args.sizes.split(",")):
        bench(size, args.proofs, args.naive, not args.no_export)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak resident memory so far (whole benchmark process): {peak:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
