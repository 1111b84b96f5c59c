"""The compiled MES run's cache: a user cache directory when the package is read-only, the
ready stamp, ``civicbudget tally --warm``, and a first Add1 tally that does not compile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from civicbudget.tally import jit, mes_kernel
from tally.tally_data import PABULIB, needs_data

needs_jit = pytest.mark.skipif(not mes_kernel.AVAILABLE, reason="numba not installed")
CLI = [sys.executable, "-m", "civicbudget.cli", "tally"]


@pytest.fixture
def fresh_jit(monkeypatch):
    """Forget what this process knows about the stamp; restore NUMBA_CACHE_DIR afterwards."""
    saved = os.environ.get("NUMBA_CACHE_DIR")
    monkeypatch.setattr(jit, "_ready", False)
    monkeypatch.setattr(jit, "_digest", None)
    yield
    if saved is None:
        os.environ.pop("NUMBA_CACHE_DIR", None)
    else:
        os.environ["NUMBA_CACHE_DIR"] = saved


def test_a_read_only_package_caches_in_the_user_cache_dir(fresh_jit, monkeypatch, tmp_path) -> None:
    os.environ.pop("NUMBA_CACHE_DIR", None)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(
        jit,
        "_writable",
        lambda d: (
            d != jit.HERE / "__pycache__" and os.access(d if d.exists() else d.parent, os.W_OK)
        ),
    )
    where = jit.configure()
    assert where == tmp_path / "cache" / "civicbudget" / "numba"
    assert os.environ["NUMBA_CACHE_DIR"] == str(where) and where.is_dir()


def test_an_explicit_numba_cache_dir_wins_and_the_stamp_says_ready(fresh_jit, tmp_path) -> None:
    os.environ["NUMBA_CACHE_DIR"] = str(tmp_path)
    assert jit.configure() == tmp_path
    assert not jit.ready()
    jit.mark_ready()
    assert jit.ready()
    (stamp,) = tmp_path.glob("civicbudget-mes-kernel-*.ready")
    assert stamp.read_text().startswith("compiled ")


@needs_jit
@pytest.mark.slow
def test_warm_compiles_into_the_cache_and_later_processes_see_it(tmp_path) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "CIVICBUDGET_TALLY_NO_BACKGROUND": "1"}
    out = subprocess.run([*CLI, "--warm"], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "compiled MES run ready" in out.stdout and str(tmp_path) in out.stdout
    assert list(tmp_path.rglob("*.nbi")) and list(tmp_path.glob("*.ready"))
    check = subprocess.run(
        [sys.executable, "-c", "from civicbudget.tally import jit; print(jit.ready())"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.stdout.strip() == "True"


@needs_jit
@needs_data
@pytest.mark.slow
def test_the_first_add1_tally_does_not_compile_and_the_next_one_is_prepared(tmp_path) -> None:
    name = "Poland_Warszawa_2026.pb"
    args = [*CLI, str(PABULIB / name), "--rule", "mes", "--completion", "add1-greedy", "--json"]
    quiet = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path), "CIVICBUDGET_TALLY_NO_BACKGROUND": "1"}
    out = subprocess.run(args, env=quiet, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    ref = json.loads((PABULIB / "reference.json").read_text())[name]["mes_cost_add1_greedy"]
    assert sorted(json.loads(out.stdout)["winners"]) == sorted(ref["winners"])
    assert not list(tmp_path.rglob("*.nbi"))  # nothing compiled in the run itself
    env = {**quiet}
    env.pop("CIVICBUDGET_TALLY_NO_BACKGROUND")
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    deadline = time.monotonic() + 300
    while not list(tmp_path.glob("*.ready")) and time.monotonic() < deadline:
        time.sleep(0.5)  # the background compile the command started
    assert list(tmp_path.glob("*.ready")) and list(Path(tmp_path).rglob("*.nbi"))
