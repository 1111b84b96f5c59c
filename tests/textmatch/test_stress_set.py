"""The long-message stress set of issue 14 (benchmarks/data/textmatch_stress.csv).

Checks that the hand-labelled CSV is well formed and up to date with its source, that the
evaluation script measures what it says, and the issue's hard targets for the engine:
no suggested group spans two named places and no group holds more than 5% of the batch.
Precision (target >= 0.9) is printed, not asserted: the lead decides on it.
"""

from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "benchmarks" / "data" / "textmatch_stress.csv"
SCRIPT = REPO / "benchmarks" / "textmatch_stress.py"
BUILDER = REPO / "benchmarks" / "data" / "build_textmatch_stress.py"
HEADER = ["id", "community", "place", "cluster", "origin", "text"]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and typing look the module up by name
    spec.loader.exec_module(module)
    return module


stress = _load(SCRIPT, "textmatch_stress")


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with open(DATA, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == HEADER
        return list(reader)


@pytest.fixture(scope="module")
def result(rows) -> dict:
    return stress.run(rows)


# --- the data set ----------------------------------------------------------------------


def test_ids_unique_and_every_row_labelled(rows):
    assert 400 <= len(rows) <= 500
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert r["cluster"].strip(), r["id"]
        assert r["text"].strip(), r["id"]


def test_place_and_community_consistent_within_a_cluster(rows):
    seen: dict[str, tuple[str, str]] = {}
    for r in rows:
        key = (r["community"], r["place"])
        assert seen.setdefault(r["cluster"], key) == key, (r["id"], r["cluster"])


def test_cluster_sizes_and_mix(rows):
    sizes = Counter(r["cluster"] for r in rows)
    assert max(sizes.values()) <= 0.03 * len(rows)
    assert sum(1 for n in sizes.values() if n == 1) >= 30  # many singletons to over-group
    placeless = sum(1 for r in rows if not r["place"]) / len(rows)
    assert 0.2 <= placeless <= 0.35
    with_community = sum(1 for r in rows if r["community"]) / len(rows)
    assert 0.4 <= with_community <= 0.6
    assert len({r["community"] for r in rows if r["community"]}) == 4


def test_same_request_at_two_places_is_two_clusters(rows):
    # the mixing-station template appears at three estates; each is its own cluster
    by_place: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if "搅拌站" in r["text"].partition("\n")[0] and r["place"]:
            by_place[r["place"]].add(r["cluster"])
    assert len(by_place) >= 3
    clusters = [c for cs in by_place.values() for c in cs]
    assert len(clusters) == len(set(clusters))


def test_variants_point_at_hand_written_rows_of_the_same_cluster(rows):
    by_id = {r["id"]: r for r in rows}
    variants = [r for r in rows if r["origin"] != "hand"]
    assert 30 <= len(variants) <= len(rows) // 4
    for r in variants:
        op, base = r["origin"].split(":")
        assert op in {"typo", "trad", "repost"}
        assert by_id[base]["origin"] == "hand"
        assert by_id[base]["cluster"] == r["cluster"]
        assert r["text"] != by_id[base]["text"]


def test_csv_is_built_from_the_source(rows):
    builder = _load(BUILDER, "build_textmatch_stress")
    assert builder.build() == rows


# --- the evaluation script -------------------------------------------------------------


def test_baseline_joins_near_copies_only_within_a_group():
    texts = ["禾丰路晚上太黑，建议增设路灯", "禾丰路晚上太黑，建议增设路灯！", "楼下麻将馆太吵"]
    assert stress.baseline_cluster(texts) == [0, 0, 1]
    assert stress.baseline_cluster(texts, ["a", "b", "a"]) == [0, 1, 2]


def test_evaluate_counts_spanning_groups_and_pairs():
    rows = [
        {"id": "1", "community": "", "place": "甲小区", "cluster": "x"},
        {"id": "2", "community": "", "place": "甲小区", "cluster": "x"},
        {"id": "3", "community": "", "place": "乙小区", "cluster": "y"},
        {"id": "4", "community": "", "place": "", "cluster": "z"},
    ]
    f = stress.evaluate(rows, [0, 0, 0, 1], None, sample=10)
    assert f["spanning_places"] == 1
    assert (f["largest"], f["groups_ge2"]) == (3, 1)
    assert f["pairs_predicted"] == 3 and f["pairs_gold"] == 1
    assert f["precision"] == pytest.approx(1 / 3) and f["recall"] == 1.0
    assert f["sample_size"] == 3 and f["sample_precision"] == pytest.approx(1 / 3)
    # a grouping that splits by community never pairs across communities
    g = stress.evaluate(rows, [0, 0, 0, 0], ["a", "a", "b", "b"], sample=10)
    assert g["pairs_predicted"] == 2 and g["spanning_places"] == 0


def test_script_runs_and_prints_json():
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--json", "--sample", "20"],
        capture_output=True, text=True, timeout=300, check=True,
    ).stdout  # fmt: skip
    import json

    data = json.loads(out)
    assert set(data) == {"textmatch", "baseline"}
    for modes in data.values():
        assert set(modes) == {"grouped", "batch"}
        assert modes["batch"]["messages"] == modes["grouped"]["messages"] >= 400


# --- issue 14, done-when ---------------------------------------------------------------


@pytest.mark.parametrize("mode", ["grouped", "batch"])
def test_no_suggested_group_spans_two_named_places(result, mode):
    f = result["textmatch"][mode]
    print(f"{mode}: precision {f['precision']:.3f}, sample precision "
          f"{f['sample_precision']:.3f} (n={f['sample_size']}), recall {f['recall']:.3f}")  # fmt: skip
    assert f["spanning_places"] == 0, f["spanning_examples"]


@pytest.mark.parametrize("mode", ["grouped", "batch"])
def test_no_group_larger_than_5_percent_of_the_batch(result, mode):
    f = result["textmatch"][mode]
    assert f["largest_share"] <= stress.MAX_SHARE, (f["largest"], f["messages"])
