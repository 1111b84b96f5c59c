"""The export: round trip, determinism, readable by civicbudget.tally and pabutools, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from civicbudget.ledger import read_export, verify_export, write_export
from civicbudget.ledger.cli import main
from civicbudget.ledger.merkle import leaf_hash, verify_inclusion
from civicbudget.tally import read_pabulib, tally
from ledger.builders import build_data


def test_verify_passes_and_summarises(pristine, capsys):
    result = verify_export(pristine)
    assert result.entries == 300 and result.checkpoints == 4
    assert {s.scope for s in result.scopes} == {"community:12", "community:15", "street:3"}
    assert main(["verify", str(pristine)]) == 0
    out = capsys.readouterr().out
    assert (
        out.startswith("OK: cycle 2018") and "300 entries" in out and "4 signed checkpoints" in out
    )


def test_write_is_deterministic(tmp_path, pristine):
    data, key, _ = build_data()
    write_export(tmp_path / "again", data, key)
    for root, _dirs, names in os.walk(pristine):
        for n in names:
            rel = Path(root, n).relative_to(pristine)
            assert (tmp_path / "again" / rel).read_bytes() == (pristine / rel).read_bytes(), rel


def test_writer_refuses_bad_input(tmp_path, key):
    data, key, _ = build_data(40)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        write_export(tmp_path / "full", data, key)
    from dataclasses import replace

    from civicbudget.ledger import SigningKey

    with pytest.raises(ValueError, match="not signed by this key"):
        write_export(tmp_path / "a", data, SigningKey.generate())
    with pytest.raises(ValueError, match="no definition"):
        write_export(tmp_path / "b", replace(data, scopes=data.scopes[:1]), key)


def test_read_export_round_trip(pristine):
    data, _key, _ = build_data()
    export = read_export(pristine)
    assert export.data == data
    assert export.public_key == _key.public_key


def test_pb_files_read_by_tally_and_pabutools(pristine):
    pabutools = pytest.importorskip("pabutools.election")
    export = read_export(pristine)
    for result in export.data.scopes:
        path = pristine / result.spec.file_name
        election = read_pabulib(path)
        assert tally(election, result.spec.rule, explain=False).winners == result.winners
        instance, profile = pabutools.parse_pabulib(str(path))
        assert len(instance) == len(result.spec.projects)
        assert len(profile) == export.num_votes[result.spec.scope]
        assert int(instance.budget_limit) == int(result.spec.budget)


def test_proof_command(pristine, capsys):
    entries = (pristine / "entries.jsonl").read_bytes().splitlines()
    receipt = leaf_hash(entries[123]).hex()
    assert main(["proof", str(pristine), receipt]) == 0
    proof = json.loads(capsys.readouterr().out)
    assert proof["index"] == 123 and proof["verified"] is True and proof["tree_size"] == 300
    assert proof["entry"].encode() == entries[123]
    assert verify_inclusion(
        bytes.fromhex(receipt),
        123,
        300,
        [bytes.fromhex(h) for h in proof["audit_path"]],
        bytes.fromhex(proof["checkpoint"]["root"]),
    )
    assert main(["proof", str(pristine), "ab" * 32]) == 1
    assert "no entry has receipt" in capsys.readouterr().err
    assert main(["proof", str(pristine), "xyz"]) == 1


def test_exit_codes_and_no_traceback(tmp_path, pristine, capsys, key):
    assert main(["verify", str(tmp_path / "nope")]) == 2
    assert main(["verify", str(tmp_path)]) == 2  # no manifest
    assert main([]) == 2
    assert main(["frobnicate"]) == 2
    assert main(["verify"]) == 2
    assert main(["--help"]) == 0
    # Pinning the published key: the right one passes, another fails.
    pem = tmp_path / "k.pem"
    pem.write_bytes(key.public_key.pem())
    assert main(["verify", str(pristine), "--key", str(pem)]) == 0
    assert main(["verify", str(pristine), "--key", key.public_key.hex]) == 0
    assert main(["verify", str(pristine), "--key", "11" * 32]) == 1
    assert main(["verify", str(pristine), "--key", "bad"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err


def test_top_level_command_runs_in_a_fresh_process(pristine):
    # Through `civicbudget ledger verify`, without Django settings: the library is pure.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    code = "import sys; from civicbudget.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, "ledger", "verify", str(pristine)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "OK: cycle 2018" in done.stdout
    check = "import sys, civicbudget.ledger.cli; sys.exit('django' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", check], env=env, check=False).returncode == 0


def test_the_manifest_names_the_engine_that_counted_and_a_differing_recount_says_so(tmp_path):
    from dataclasses import replace

    from civicbudget import __version__
    from civicbudget.ledger import ExportError, SigningKey
    from civicbudget.ledger.export import manifest_signed_bytes, pretty_json

    data, key, _ = build_data(60)
    write_export(tmp_path / "plain", data, key)
    assert "engine" not in json.loads((tmp_path / "plain" / "manifest.json").read_text())
    counted = replace(data, engine="civicbudget 0.0.9")
    write_export(tmp_path / "named", counted, key)
    manifest = json.loads((tmp_path / "named" / "manifest.json").read_text())
    assert manifest["engine"] == "civicbudget 0.0.9"
    result = verify_export(tmp_path / "named")
    assert result.engine == "civicbudget 0.0.9"
    assert f"counted by civicbudget 0.0.9; re-tallied by civicbudget {__version__}" in result.summary()
    assert read_export(tmp_path / "named").data == counted

    # Published winners that the re-count does not give: the message names both engines.
    first = counted.scopes[0]
    wrong = replace(first, winners=tuple(reversed(first.winners)) or ("nothing",))
    if wrong.winners == first.winners:
        wrong = replace(first, winners=first.winners[:-1])
    write_export(tmp_path / "wrong", replace(counted, scopes=(wrong, *counted.scopes[1:])), key)
    with pytest.raises(ExportError, match=r"counted by civicbudget 0\.0\.9; this verifier is civicbudget"):
        verify_export(tmp_path / "wrong")

    # The engine is covered by the manifest signature and must be a short string.
    for bad in (7, "", "x" * 101):
        manifest["engine"] = bad
        manifest["signature"] = key.sign(manifest_signed_bytes(manifest)).hex()
        (tmp_path / "named" / "manifest.json").write_bytes(pretty_json(manifest))
        with pytest.raises(ExportError, match="engine must be a string"):
            verify_export(tmp_path / "named")
    manifest["engine"] = "civicbudget 9.9"
    (tmp_path / "named" / "manifest.json").write_bytes(pretty_json(manifest))
    with pytest.raises(ExportError, match="signature does not verify"):
        verify_export(tmp_path / "named")
    assert SigningKey  # imported with the other names a reader of this test needs
