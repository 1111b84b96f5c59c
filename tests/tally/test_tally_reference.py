"""Golden tests: every outcome in pabulib's reference.json (pabutools 1.2.3) is reproduced."""

from __future__ import annotations

import pytest

from civicbudget.tally import REFERENCE_RULES, TallyCache, tally
from tally.tally_data import election, needs_data, reference

CASES = [(f, key) for f, rules in sorted(reference().items()) for key in sorted(rules)]
_caches: dict[str, TallyCache] = {}


def _cache(name: str) -> TallyCache:
    if name not in _caches:
        _caches.clear()  # keep one election in memory at a time (cases are sorted by file)
        _caches[name] = TallyCache(election(name))
    return _caches[name]


@needs_data
def test_reference_lists_every_rule_key_we_know() -> None:
    keys = {key for _, key in CASES}
    assert keys <= set(REFERENCE_RULES), keys - set(REFERENCE_RULES)
    assert len(CASES) >= 600


@needs_data
@pytest.mark.parametrize(("file", "rule_key"), CASES, ids=[f"{f[:-3]}-{k}" for f, k in CASES])
def test_winners_match_pabutools(file: str, rule_key: str) -> None:
    cache = _cache(file)
    outcome = tally(cache.election, REFERENCE_RULES[rule_key], explain=False, cache=cache)
    assert sorted(outcome.winners) == reference()[file][rule_key]["winners"]
    assert outcome.total_cost <= cache.election.budget
