"""Helpers for the tally tests: the shared pabulib data, found beside the repository.

The data lives in ``<repo>/../shared/pabulib`` (CI copies ``shared/`` beside its clone);
``CIVICBUDGET_SHARED_DIR`` overrides it. Tests that need it skip when it is missing.
No Django is needed here.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import pytest

from civicbudget.tally import Election, read_pabulib

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """Return the shared data folder (env override first)."""
    env = os.environ.get("CIVICBUDGET_SHARED_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared"


PABULIB = shared_dir() / "pabulib"
REFERENCE = PABULIB / "reference.json"
HAS_DATA = REFERENCE.is_file()
needs_data = pytest.mark.skipif(
    not HAS_DATA, reason=f"pabulib data not found at {PABULIB} (set CIVICBUDGET_SHARED_DIR)"
)


def pb_files() -> list[str]:
    """Return the names of the shared .pb files (empty without the data)."""
    return sorted(p.name for p in PABULIB.glob("*.pb")) if PABULIB.is_dir() else []


@lru_cache(maxsize=1)
def reference() -> dict:
    """Return reference.json (empty without the data)."""
    return json.loads(REFERENCE.read_text()) if HAS_DATA else {}


@lru_cache(maxsize=4)
def election(name: str) -> Election:
    """Read (once) a shared .pb file."""
    return read_pabulib(PABULIB / name)


def reference_outcomes(name: str) -> dict[str, tuple[list[str], str, str]]:
    """Return {rule_key: (sorted winners, total cost, budget)} for every reference rule of a file."""
    from civicbudget.tally import REFERENCE_RULES, TallyCache, tally

    e = election(name)
    cache = TallyCache(e)
    out = {}
    for key in reference()[name]:
        outcome = tally(e, REFERENCE_RULES[key], explain=False, cache=cache)
        out[key] = (sorted(outcome.winners), str(outcome.total_cost), str(e.budget))
    election.cache_clear()
    return out
