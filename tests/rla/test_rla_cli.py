"""``civicbudget audit check FILE``: re-deriving a published audit needs only the file."""

from __future__ import annotations

import json
import subprocess
import sys

from civicbudget.rla import Assertion, draw_sample, evaluate

SEED = "27182818284590452353602874713527"


def _published(tmp_path):
    manifest = [("3", list(range(1, 41))), ("5", list(range(1, 21)))]
    labels = {"3": "3 大厅", "5": "5 流动票箱"}
    assertion = Assertion("1", "2", 12, True)
    draws = draw_sample(SEED, manifest, 40)
    ballot = frozenset({"1", "3"})
    pairs = [(ballot, ballot)] * len(draws)
    result = evaluate([assertion], 60, pairs)
    sheets = sorted({(d.box, d.number) for d in draws})
    audit = {
        "scope": "community:1", "seed": SEED, "risk_limit": 0.05, "method": "assertions",
        "manifest": [{"box": labels[b], "station": int(b), "numbers": n} for b, n in manifest],
        "paper_sheets": 60, "assertions": [assertion.to_json()],
        "draws": [{"counter": d.counter, "position": d.position, "box": labels[d.box], "number": d.number}
                  for d in draws],
        "comparisons": [{"box": labels[b], "number": n, "found": True, "read": ["1", "3"],
                         "recorded": ["1", "3"], "matches": True, "overstatements": {}} for b, n in sheets],
        "state": "confirmed" if result.decision == "confirmed" else "sampling",
        "evaluation": result.to_json(),
    }
    path = tmp_path / "audit.json"
    path.write_text(json.dumps({"cycle": 1, "audits": [audit]}, ensure_ascii=False), encoding="utf-8")
    return path, audit


def _run(path):
    return subprocess.run([sys.executable, "-m", "civicbudget.cli", "audit", "check", str(path)],
                          capture_output=True, text=True, timeout=60)


def test_a_published_audit_rechecks(tmp_path):
    path, audit = _published(tmp_path)
    assert audit["state"] == "confirmed"
    ok = _run(path)
    assert ok.returncode == 0 and "OK" in ok.stdout, ok.stdout + ok.stderr


def test_a_forged_comparison_or_conclusion_is_caught(tmp_path):
    path, audit = _published(tmp_path)
    audit["comparisons"][0]["read"] = ["2"]  # the sheet said 2: the published p-value is too low
    path.write_text(json.dumps(audit, ensure_ascii=False), encoding="utf-8")
    bad = _run(path)
    assert bad.returncode == 1 and "p-value" in bad.stdout


def test_unreadable_files_are_refused_without_a_traceback(tmp_path):
    path = tmp_path / "audit.json"
    path.write_text("{not json", encoding="utf-8")
    bad = _run(path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    path.write_text(json.dumps({"audits": [{"scope": "x"}]}), encoding="utf-8")
    bad = _run(path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
