"""Golden tests: every outcome in pabulib's reference.json (pabutools 1.2.3) is reproduced.

The outcomes are computed once per file, files in parallel on the machine's cores (the
slowest first); each (file, rule) pair is then its own test case.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction

import pytest

from civicbudget.tally import REFERENCE_RULES
from tally.tally_data import needs_data, reference, reference_outcomes

CASES = [(f, key) for f, rules in sorted(reference().items()) for key in sorted(rules)]


@pytest.fixture(scope="module")
def outcomes() -> dict[str, dict]:
    ref = reference()
    # slowest first (pabutools' seconds are a fair proxy for ours)
    files = sorted(ref, key=lambda f: -sum(r["seconds"] for r in ref[f].values()))
    workers = int(os.environ.get("CIVICBUDGET_TALLY_WORKERS", min(4, os.cpu_count() or 1)))
    if workers <= 1:
        return {f: reference_outcomes(f) for f in files}
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return dict(zip(files, pool.map(reference_outcomes, files), strict=True))


@needs_data
def test_reference_lists_every_rule_key_we_know() -> None:
    keys = {key for _, key in CASES}
    assert keys <= set(REFERENCE_RULES), keys - set(REFERENCE_RULES)
    assert len(CASES) >= 670


@needs_data
@pytest.mark.parametrize(("file", "rule_key"), CASES, ids=[f"{f[:-3]}-{k}" for f, k in CASES])
def test_winners_match_pabutools(outcomes, file: str, rule_key: str) -> None:
    winners, total, budget = outcomes[file][rule_key]
    assert winners == reference()[file][rule_key]["winners"]
    assert Fraction(total) <= Fraction(budget)
