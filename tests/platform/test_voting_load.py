"""The real server under load, killed with SIGKILL mid-way: nothing whose receipt was returned is lost."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "voting_load.py"


def _run_in_subprocess(args: list[str]) -> str:
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in {"CIVICBUDGET_DATA_DIR", "DJANGO_SETTINGS_MODULE"}}
    result = subprocess.run([sys.executable, str(BENCH), *args], env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _figures(out: str) -> dict:
    return {line.split()[0]: line.split()[-1] for line in out.splitlines() if line.strip()}


def test_load_then_sigkill_keeps_every_returned_receipt():
    out = _run_in_subprocess(["--seconds", "6", "--kill-after", "3", "--voters", "3000",
                              "--concurrency", "8", "--workers", "3"])
    figures = _figures(out)
    assert figures["killed"] == "True"
    assert int(figures["201"]) > 0
    assert figures["receipts_missing"] == "0"
    assert figures["seq_gapless"] == "True"
    assert figures["duplicates"] == "0"
    assert figures["log_entries"] == figures["participations"] == figures["log_size"]
    assert "count check: OK" in out


def test_load_counts_match_exactly():
    out = _run_in_subprocess(["--seconds", "4", "--voters", "3000", "--concurrency", "8",
                              "--workers", "3"])
    figures = _figures(out)
    assert figures["log_entries"] == figures["created_answers"] == figures["participations"]
    assert figures["retry_same_receipt"] == figures["200"]
    assert "count check: OK" in out


def test_benchmark_module_imports():
    spec = importlib.util.spec_from_file_location("voting_load", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(module.run)
