"""The ``civicbudget`` command as a newcomer runs it: a real process, a real port, real HTTP."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(scale: str = "0.02") -> dict:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.pop("CIVICBUDGET_DATA_DIR", None)
    env["CIVICBUDGET_DEMO_SCALE"] = scale
    return env


def _run(args, cwd: Path, timeout=180, scale="0.02") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "civicbudget.cli", *args], cwd=cwd,
                          env=_env(scale), capture_output=True, text=True, timeout=timeout)


def test_demo_prepares_full_scale_data_then_reuses_it(tmp_path):
    first = _run(["demo", "--no-serve"], tmp_path, scale="1")
    assert first.returncode == 0, first.stderr
    assert "Loading the demo district" in first.stdout
    assert "meilan-admin" in first.stdout and "meilan-demo-2018" in first.stdout
    assert (tmp_path / "civicbudget-data" / "civicbudget.sqlite3").exists()
    second = _run(["demo", "--no-serve"], tmp_path)
    assert "reusing it" in second.stdout
    seconds = float(second.stdout.split("Ready in ")[1].split(" s")[0])
    assert seconds < 30
    count = _run(["manage", "shell", "-c",
                  "from civicbudget.proposals.models import Proposal as P; print(P.objects.count())"],
                 tmp_path)
    # 2017 and 2018 at the source's scale, and the Xihu-style cycle's typed-in proposals.
    # ... and the 2019 pilots' (demo/fairness_data.py): theme division 13, care-first 11, group 5
    assert count.stdout.strip().splitlines()[-1] == str(4_362 + 27_405 + 320 + 13 + 11 + 5)


def test_demo_serves_pages_and_api_over_http(tmp_path):
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "civicbudget.cli", "demo", "--port", str(port),
         "--data-dir", str(tmp_path / "data")],
        cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/cycles", timeout=2) as r:
                    cycles = json.loads(r.read())
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError("demo did not start") from None
                time.sleep(0.3)
        # the three 2019 pilots (demo/fairness_data.py) are finished and listed first
        assert [(c["year"], c["status"]) for c in cycles] == [
            (2019, "finished")] * 3 + [(2018, "running"), (2017, "finished"), (2017, "running")]
        assert cycles[3]["current_stage"]["name"] == "项目投票"
        assert cycles[5]["current_stage"]["name"] == "项目执行和监督（社会组织接单）"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert "2017 双创微实事" in r.read().decode()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/openapi.json", timeout=5) as r:
            assert "/api/cycles" in json.loads(r.read())["paths"]
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_manage_runs_django_commands_on_the_same_data(tmp_path):
    _run(["demo", "--no-serve"], tmp_path)
    result = _run(["manage", "showmigrations", "cycles"], tmp_path)
    assert result.returncode == 0
    assert "[X] 0001_initial" in result.stdout


def test_unknown_command_exits_2(tmp_path):
    result = _run(["frobnicate"], tmp_path)
    assert result.returncode == 2
    assert "unknown command" in result.stderr
