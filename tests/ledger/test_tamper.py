"""Any single changed, deleted, added or reordered byte of an export is detected.

Two kinds of attacker:

* an outsider who edits files: every byte is covered by the manifest's SHA-256 list and
  the manifest by its Ed25519 signature; the systematic tests mutate every file at many
  positions (and every byte of the small files) and expect a precise failure;
* an insider who also holds the log key and re-signs the manifest after the edit: then
  the *meaning* must give the change away (roots, signed checkpoints, ballot rules, the
  .pb files, the re-tally). The targeted tests below re-sign and still expect failure.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicbudget.ledger import ExportError, SigningKey, canonical_json, verify_export
from civicbudget.ledger.cli import main
from civicbudget.ledger.export import manifest_signed_bytes, pretty_json

FILES = (
    "manifest.json",
    "entries.jsonl",
    "checkpoints.jsonl",
    "public_key.pem",
    "results.json",
    "ballots/community_12.pb",
    "ballots/community_15.pb",
    "ballots/street_3.pb",
)


def mutate(data: bytes, op: str, pos: int, value: int) -> bytes:
    """Apply one single-byte mutation; the result always differs from ``data``."""
    pos %= max(len(data), 1)
    if op == "change":
        new = value if value != data[pos] else (value + 1) % 256
        return data[:pos] + bytes([new]) + data[pos + 1 :]
    if op == "delete":
        return data[:pos] + data[pos + 1 :]
    if op == "insert":
        return data[:pos] + bytes([value]) + data[pos:]
    # reorder: swap the byte with the next different byte
    j = next((k for k in range(pos + 1, len(data)) if data[k] != data[pos]), None)
    if j is None:
        j = next(k for k in range(pos) if data[k] != data[pos])
        pos, j = j, pos
    return data[:pos] + data[j : j + 1] + data[pos + 1 : j] + data[pos : pos + 1] + data[j + 1 :]


def assert_detected(directory: Path) -> ExportError:
    with pytest.raises(ExportError) as err:
        verify_export(directory)
    assert err.value.file and err.value.message
    assert main(["verify", str(directory)]) == 1
    return err.value


def test_mutate_always_changes():
    rng = random.Random(1)
    data = b"aab;\n\xe7\xa4\xbe"
    for op in ("change", "delete", "insert", "reorder"):
        for _ in range(50):
            assert mutate(data, op, rng.randrange(len(data)), rng.randrange(256)) != data


# --- systematic: every file, many positions, every kind of single-byte change ----------


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("op", ["change", "delete", "insert", "reorder"])
def test_random_single_byte_mutations_are_detected(pristine, tmp_path, name, op):
    original = (pristine / name).read_bytes()
    rng = random.Random(f"{name}-{op}")
    # The first and last bytes, then random positions across the file.
    positions = [0, len(original) - 1] + [rng.randrange(len(original)) for _ in range(23)]
    import shutil

    for k, pos in enumerate(positions):
        copy = tmp_path / f"c{k}"
        shutil.copytree(pristine, copy)
        (copy / name).write_bytes(mutate(original, op, pos, rng.randrange(256)))
        err = assert_detected(copy)
        assert err.file in (name, "manifest.json"), (name, op, pos, err)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(FILES),
    op=st.sampled_from(["change", "delete", "insert", "reorder"]),
    pos=st.integers(0, 10**6),
    value=st.integers(0, 255),
)
def test_hypothesis_single_byte_mutations(export_copy, name, op, pos, value):
    path = export_copy / name
    original = path.read_bytes()
    path.write_bytes(mutate(original, op, pos, value))
    try:
        assert_detected(export_copy)
    finally:
        path.write_bytes(original)


@pytest.mark.parametrize("name", ["public_key.pem", "checkpoints.jsonl"])
def test_every_byte_of_small_files(export_copy, name):
    path = export_copy / name
    original = path.read_bytes()
    for pos in range(len(original)):
        path.write_bytes(mutate(original, "change", pos, original[pos] ^ 0x20))
        with pytest.raises(ExportError):
            verify_export(export_copy)
    path.write_bytes(original)
    verify_export(export_copy)


def test_added_and_removed_files(export_copy):
    (export_copy / "ballots" / "extra.pb").write_text("META\n")
    assert "not listed" in assert_detected(export_copy).message
    (export_copy / "ballots" / "extra.pb").unlink()
    (export_copy / "ballots" / "street_3.pb").unlink()
    err = assert_detected(export_copy)
    assert err.file == "ballots/street_3.pb" and err.message == "missing"


# --- targeted: an insider re-signs the manifest; the meaning still gives it away -------


def resign(directory: Path, key: SigningKey, changed: dict[str, bytes]) -> None:
    """Write changed files, update their manifest records and re-sign the manifest."""
    manifest = json.loads((directory / "manifest.json").read_bytes())
    for name, data in changed.items():
        (directory / name).write_bytes(data)
        manifest["files"][name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    manifest["public_key"] = key.public_key.hex
    manifest["signature"] = key.sign(manifest_signed_bytes(manifest)).hex()
    (directory / "manifest.json").write_bytes(pretty_json(manifest))


def lines(directory: Path, name: str) -> list[bytes]:
    return (directory / name).read_bytes().splitlines(keepends=True)


def test_resign_helper_keeps_a_valid_export(export_copy, key):
    resign(export_copy, key, {})
    verify_export(export_copy)


def test_flipped_vote_breaks_the_checkpoint_root(export_copy, key):
    ls = lines(export_copy, "entries.jsonl")
    obj = json.loads(ls[10])
    assert obj["scope"] == "street:3"
    obj["ballot"] = list(reversed(obj["ballot"]))
    ls[10] = canonical_json(obj) + b"\n"
    resign(export_copy, key, {"entries.jsonl": b"".join(ls)})
    err = assert_detected(export_copy)
    assert (
        err.file == "checkpoints.jsonl"
        and err.line == 1
        and "is not the root of the first" in err.message
    )


def test_invalid_ballot_named_with_its_line(export_copy, key):
    ls = lines(export_copy, "entries.jsonl")
    obj = json.loads(ls[0])
    obj["ballot"] = ["c12-1", "c12-2", "c12-3", "c12-4"]  # max_length is 3
    ls[0] = canonical_json(obj) + b"\n"
    resign(export_copy, key, {"entries.jsonl": b"".join(ls)})
    err = assert_detected(export_copy)
    assert (err.file, err.line) == ("entries.jsonl", 1) and "at most 3 allowed" in err.message


def test_deleted_line(export_copy, key):
    ls = lines(export_copy, "entries.jsonl")
    del ls[200]
    manifest = json.loads((export_copy / "manifest.json").read_bytes())
    manifest["entries"] -= 1
    (export_copy / "manifest.json").write_bytes(pretty_json(manifest))
    resign(export_copy, key, {"entries.jsonl": b"".join(ls)})
    err = assert_detected(export_copy)
    # Entries carry no position: the signed checkpoints no longer fit the log.
    assert (err.file, err.line) == ("checkpoints.jsonl", 4) and "only 299 entries" in err.message


def test_swapped_lines(export_copy, key):
    ls = lines(export_copy, "entries.jsonl")
    ls[5], ls[6] = ls[6], ls[5]
    resign(export_copy, key, {"entries.jsonl": b"".join(ls)})
    err = assert_detected(export_copy)
    assert (err.file, err.line) == ("checkpoints.jsonl", 1) and "is not the root" in err.message


def test_a_log_in_cast_order_is_refused_even_when_signed(key):
    """An organiser who writes ballots in the order they came (which a database thief could
    match to the voters' check-in times) and signs it is caught: batches are leaf-sorted."""
    import tempfile

    from civicbudget.ledger import BallotLog, ExportData, ScopeResult
    from civicbudget.ledger.entry import make_entry
    from civicbudget.ledger.export import write_export
    from civicbudget.ledger.merkle import leaf_hash
    from civicbudget.ledger.signing import Checkpoint
    from ledger.builders import scopes

    spec = scopes()[0]
    log = BallotLog("2018", "civicbudget:meilan:2018")
    entries = [make_entry("2018", spec, [f"c12-{1 + i % 7}"], "online").encode() for i in range(40)]
    # Any order but the leaf order would do; descending is sure to break at the second line.
    for data in sorted(entries, key=leaf_hash, reverse=True):
        log._append(data)  # what a dishonest writer would do: no batch shuffle
    cp = key.sign_checkpoint(Checkpoint(log.log_id, len(log), log.tree.root(), "2018-06-10T20:00:00+08:00"))
    data = ExportData(cycle="2018", log_id=log.log_id, entries=tuple(log.entries), checkpoints=(cp,),
                      scopes=(ScopeResult(spec, ()),))
    with tempfile.TemporaryDirectory() as d:
        write_export(Path(d) / "x", data, key)
        err = assert_detected(Path(d) / "x")
    assert err.file == "entries.jsonl" and err.line == 2 and "leaf-hash order" in err.message


def test_appended_line_is_not_covered_by_the_last_checkpoint(export_copy, key):
    ls = lines(export_copy, "entries.jsonl")
    obj = json.loads(ls[-1])
    obj["nonce"] = "f" * 32
    ls.append(canonical_json(obj) + b"\n")
    manifest = json.loads((export_copy / "manifest.json").read_bytes())
    manifest["entries"] += 1
    (export_copy / "manifest.json").write_bytes(pretty_json(manifest))
    resign(export_copy, key, {"entries.jsonl": b"".join(ls)})
    err = assert_detected(export_copy)
    assert err.file == "checkpoints.jsonl" and "covers 300 entries, the log has 301" in err.message


def test_changed_signature_byte(export_copy, key):
    ls = lines(export_copy, "checkpoints.jsonl")
    obj = json.loads(ls[2])
    sig = bytearray.fromhex(obj["signature"])
    sig[7] ^= 1
    obj["signature"] = sig.hex()
    ls[2] = canonical_json(obj) + b"\n"
    resign(export_copy, key, {"checkpoints.jsonl": b"".join(ls)})
    err = assert_detected(export_copy)
    assert (err.file, err.line) == ("checkpoints.jsonl", 3) and "signature" in err.message


def test_reordered_checkpoints(export_copy, key):
    ls = lines(export_copy, "checkpoints.jsonl")
    ls[0], ls[1] = ls[1], ls[0]
    resign(export_copy, key, {"checkpoints.jsonl": b"".join(ls)})
    err = assert_detected(export_copy)
    assert err.file == "checkpoints.jsonl" and err.line == 2


def test_changed_results_winner(export_copy, key):
    results = json.loads((export_copy / "results.json").read_bytes())
    scope = results["scopes"][1]
    loser = next(p["id"] for p in scope["projects"] if p["id"] not in scope["winners"])
    scope["winners"][-1] = loser
    costs = {p["id"]: int(p["cost"]) for p in scope["projects"]}
    scope["total_cost"] = str(sum(costs[w] for w in scope["winners"]))
    resign(export_copy, key, {"results.json": pretty_json(results)})
    err = assert_detected(export_copy)
    assert err.file == "results.json" and "community:15: published winners" in err.message
    assert (
        (export_copy / "results.json")
        .read_text()
        .splitlines()[err.line - 1]
        .strip()
        .startswith('"winners"')
    )


def test_changed_winner_order(export_copy, key):
    results = json.loads((export_copy / "results.json").read_bytes())
    results["scopes"][0]["winners"].reverse()
    resign(export_copy, key, {"results.json": pretty_json(results)})
    assert "re-tally" in assert_detected(export_copy).message


def test_changed_rule_or_budget(export_copy, key):
    results = json.loads((export_copy / "results.json").read_bytes())
    results["scopes"][0]["budget"] = "100000"
    resign(export_copy, key, {"results.json": pretty_json(results)})
    err = assert_detected(export_copy)
    assert err.file == "ballots/community_12.pb" and "budget" in err.message


def test_changed_vote_in_pb(export_copy, key):
    name = "ballots/street_3.pb"
    text = (export_copy / name).read_text()
    ls = text.split("\n")
    i = next(k for k, line in enumerate(ls) if line.startswith("voter_id")) + 4
    voter, vote = ls[i].split(";")
    first, *rest = vote.split(",")
    other = next(f"s3-{k}" for k in range(1, 7) if f"s3-{k}" not in vote.split(","))
    ls[i] = f"{voter};{','.join([other, *rest])}"
    resign(export_copy, key, {name: "\n".join(ls).encode()})
    err = assert_detected(export_copy)
    assert (err.file, err.line) == (name, i + 1)
    assert (
        f"ballot of voter {voter}" in err.message
        and f"entries.jsonl line {int(voter) + 1}" in err.message
    )


def test_dropped_ballot_in_pb(export_copy, key):
    name = "ballots/community_12.pb"
    ls = (export_copy / name).read_text().split("\n")
    del ls[-2]  # the last ballot (the file ends with a newline)
    resign(export_copy, key, {name: "\n".join(ls).encode()})
    err = assert_detected(export_copy)
    assert err.file == name


def test_changed_public_key(export_copy):
    # A new key re-signs the manifest: the checkpoints, signed with the old key, fail.
    new = SigningKey.from_seed(b"\x09" * 32)
    resign(export_copy, new, {"public_key.pem": new.public_key.pem()})
    err = assert_detected(export_copy)
    assert err.file == "checkpoints.jsonl" and err.line == 1 and "signature" in err.message


def test_fully_resigned_forgery_is_caught_by_pinning_the_key(export_copy, key):
    # Someone with a new key re-signs everything: only the published key tells.
    from civicbudget.ledger import write_export
    from ledger.builders import build_data

    data, _key, _ = build_data(seed=8)
    forged = export_copy.parent / "forged"
    new = SigningKey.from_seed(b"\x0a" * 32)
    data = type(data)(
        data.cycle,
        data.log_id,
        data.entries,
        tuple(new.sign_checkpoint(c.checkpoint) for c in data.checkpoints),
        data.scopes,
    )
    write_export(forged, data, new)
    verify_export(forged)  # self-consistent...
    with pytest.raises(ExportError, match="not the expected key"):
        verify_export(forged, expected_key=key.public_key)


def test_rewrite_with_the_same_key_is_caught_by_checkpoints_published_during_voting(
    pristine, tmp_path, key, capsys
):
    # The organiser (who holds the key) rewrites the whole log after close and re-signs
    # every checkpoint: the export is self-consistent, but a checkpoint residents saved
    # during voting no longer matches.
    from civicbudget.ledger import write_export
    from ledger.builders import build_data

    data, _key, _ = build_data(seed=8)
    forged = tmp_path / "forged"
    write_export(forged, data, key)
    verify_export(forged)
    saved = tmp_path / "saved.jsonl"
    saved.write_bytes((pristine / "checkpoints.jsonl").read_bytes().splitlines(keepends=True)[1])
    assert main(["verify", str(pristine), "--checkpoints", str(saved)]) == 0
    assert "1 checkpoints collected during voting match the log" in capsys.readouterr().out
    assert main(["verify", str(forged), "--checkpoints", str(saved)]) == 1
    err = capsys.readouterr().err
    assert "saved.jsonl:1:" in err and "the log was rewritten" in err
    assert main(["verify", str(pristine), "--checkpoints", str(tmp_path / "none.jsonl")]) == 2


def test_escaped_lone_surrogate_in_results_is_a_named_failure(export_copy, key):
    data = (export_copy / "results.json").read_bytes().replace("项目1".encode(), b"\\ud800", 1)
    resign(export_copy, key, {"results.json": data})
    err = assert_detected(export_copy)
    assert err.file == "results.json" and "surrogate" in err.message


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.sampled_from(FILES[1:]),
    op=st.sampled_from(["change", "delete", "insert", "reorder"]),
    pos=st.integers(0, 10**6),
    value=st.integers(0, 255),
)
def test_resigned_mutations_fail_by_name_never_by_crash(export_copy, key, name, op, pos, value):
    # An insider's single-byte edit, re-signed: the verifier must still say precisely
    # what is wrong (an ExportError), never crash. The only edits that may pass are
    # those pabulib reads as the same election (a .pb is text, not canonical bytes).
    path = export_copy / name
    original = path.read_bytes()
    manifest = (export_copy / "manifest.json").read_bytes()
    resign(export_copy, key, {name: mutate(original, op, pos, value)})
    try:
        verify_export(export_copy)
    except ExportError as err:
        assert err.file and err.message
    else:
        assert name.endswith(".pb"), (name, op, pos)
    finally:
        path.write_bytes(original)
        (export_copy / "manifest.json").write_bytes(manifest)
