"""Canonical entries, ballot rules, keys, checkpoints and the ballot log."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicbudget.ledger import (
    BallotLog,
    EntryError,
    ProjectSpec,
    PublicKey,
    ScopeSpec,
    SigningKey,
    canonical_json,
    make_entry,
    parse_entry,
    verify_inclusion,
)
from civicbudget.ledger.entry import format_money, parse_canonical, parse_money
from civicbudget.ledger.log import batch_order_problem
from civicbudget.ledger.merkle import leaf_hash
from civicbudget.ledger.signing import Checkpoint, KeyFormatError, SignedCheckpoint, parse_time
from civicbudget.tally import RuleSpec

UTC8 = dt.timezone(dt.timedelta(hours=8))
SPEC = ScopeSpec(
    "community:12",
    "approval",
    Fraction(100),
    tuple(ProjectSpec(f"p{i}", Fraction(c)) for i, c in enumerate([10, 20, 30, 70], 1)),
    RuleSpec("mes"),
    max_length=2,
    max_sum_cost=Fraction(80),
)
POINTS = ScopeSpec(
    "street:3",
    "cumulative",
    Fraction(100),
    tuple(ProjectSpec(f"s{i}", Fraction(10)) for i in range(1, 5)),
    max_points=3,
    max_sum_points=5,
)


def test_canonical_json_is_sorted_compact_utf8():
    assert (
        canonical_json({"b": 1, "a": ["社区", True, None]})
        == '{"a":["社区",true,null],"b":1}'.encode()
    )
    with pytest.raises(EntryError):
        canonical_json({"a": 1.5})
    for bad in (
        b'{"a": 1}',
        b'{"b":1,"a":2}',
        b'{"a":"\\u793e"}',
        b'{"a":1,"a":1}',
        b'{"a":1.0}',
        b'{"a":"\\ud800"}',
        b"\xff",
    ):
        with pytest.raises(EntryError):
            parse_canonical(bad)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
    )
)
def test_canonical_round_trip(value):
    assert parse_canonical(canonical_json(value)) == value


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(
    st.fractions(min_value=0, max_value=10**9).filter(
        lambda f: f.denominator in (1, 2, 4, 5, 8, 10, 100)
    )
)
def test_money_round_trip(value):
    assert parse_money(format_money(value)) == value


def test_money_refuses_other_spellings():
    for bad in ("01", "1.50", "1e3", "-1", " 1", 1, "1/3"):
        with pytest.raises(EntryError):
            parse_money(bad)
    with pytest.raises(EntryError):
        format_money(Fraction(1, 3))


def test_entry_round_trip_and_no_voter_link():
    e = make_entry("2018", SPEC, ["p2", "p1"], "online", nonce="0" * 32)
    data = e.encode()
    assert data == (
        b'{"ballot":["p1","p2"],"channel":"online","cycle":"2018",'
        b'"nonce":"00000000000000000000000000000000","scope":"community:12"}'
    )
    assert parse_entry(data) == e
    p = make_entry("2018", POINTS, {"s2": 3, "s1": 2}, "paper", nonce="a" * 32)
    assert p.encode().startswith(b'{"ballot":[["s1",2],["s2",3]]')
    assert parse_entry(p.encode()) == p
    assert p.points() == (2, 3) and p.projects() == ("s1", "s2")


@pytest.mark.parametrize(
    ("spec", "choices", "message"),
    [
        (SPEC, ["p1", "p9"], "not on the ballot"),
        (SPEC, ["p1", "p1"], "named twice"),
        (SPEC, ["p1", "p2", "p3"], "at most 2"),
        (SPEC, [], "at least 1"),
        (SPEC, ["p3", "p4"], "over 80"),
        (POINTS, {"s1": 4}, "at most 3"),
        (POINTS, {"s1": 3, "s2": 3}, "at most 5"),
        (POINTS, {"s1": 0}, "at least 1"),
        (POINTS, ["s1"], "mapping"),
    ],
)
def test_ballot_rules(spec, choices, message):
    with pytest.raises(EntryError, match=message):
        make_entry("2018", spec, choices, "online")


def test_bad_entry_fields():
    good = make_entry("2018", SPEC, ["p1"], "online", nonce="0" * 32).to_json()
    for key, value in [
        ("channel", "fax"),
        ("seq", 0),  # a position in the entry would bind it to when it was cast
        ("nonce", "XYZ"),
        ("scope", "a/b"),
        ("cycle", ""),
    ]:
        with pytest.raises(EntryError):
            parse_entry(canonical_json({**good, key: value}))
    with pytest.raises(EntryError):
        parse_entry(canonical_json({**good, "voter": "110101199001011234"}))


def test_keys_pem_hex_and_secrecy():
    key = SigningKey.generate()
    pub = key.public_key
    assert (
        PublicKey.from_pem(pub.pem())
        == pub
        == PublicKey.load(pub.hex)
        == PublicKey.load(pub.pem().decode())
    )
    pem = key.to_pem()
    assert b"PRIVATE KEY" in pem
    # The private key appears in no repr or str.
    assert pem.decode() not in repr(key) and "PRIVATE" not in str(key)
    assert pub.fingerprint[:16] in repr(key)
    enc = key.to_pem(b"passphrase")
    assert b"ENCRYPTED" in enc
    assert SigningKey.from_pem(enc, b"passphrase").public_key == pub
    with pytest.raises(KeyFormatError) as err:
        SigningKey.from_pem(enc, b"wrong")
    assert "BEGIN" not in str(err.value)
    for bad in (
        "00" * 31,
        "zz" * 32,
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    ):
        with pytest.raises(KeyFormatError):
            PublicKey.load(bad)


def test_checkpoint_signatures():
    key = SigningKey.from_seed(b"\x01" * 32)
    other = SigningKey.from_seed(b"\x02" * 32)
    cp = Checkpoint("log", 3, b"\xab" * 32, "2018-06-10T20:00:00+08:00")
    signed = key.sign_checkpoint(cp)
    assert signed.verify(key.public_key) and not signed.verify(other.public_key)
    assert SignedCheckpoint.decode(signed.encode()) == signed
    # Deterministic: Ed25519 signs the same bytes the same way.
    assert key.sign_checkpoint(cp) == signed
    for changed in (
        Checkpoint("log2", 3, cp.root, cp.time),
        Checkpoint("log", 4, cp.root, cp.time),
        Checkpoint("log", 3, b"\xac" * 32, cp.time),
        Checkpoint("log", 3, cp.root, "2018-06-10T20:00:01+08:00"),
    ):
        assert not SignedCheckpoint(changed, signed.signature).verify(key.public_key)
    # A manifest signature cannot pass for a checkpoint signature (domain separation).
    assert not key.public_key.verify(key.sign(cp.signed_bytes()[1:]), cp.signed_bytes())


def test_time_needs_a_zone():
    assert parse_time("2018-06-10T20:00:00+08:00").utcoffset() == dt.timedelta(hours=8)
    for bad in ("2018-06-10T20:00:00", "2018-06-10 20:00:00+08:00", "yesterday", 5):
        with pytest.raises(EntryError):
            parse_time(bad)
    log = BallotLog("2018", "log")
    with pytest.raises(ValueError):
        log.checkpoint(SigningKey.generate(), dt.datetime(2018, 6, 10))  # noqa: DTZ001


def test_ballot_log_receipts_and_proofs():
    key = SigningKey.generate()
    log = BallotLog("2018", "meilan-2018")
    receipts = [
        log.append_ballot(SPEC, ["p1", f"p{1 + i % 3 + 1}"], "online").receipt for i in range(20)
    ]
    # Receipts are known at once; the entries wait in the open batch until a checkpoint.
    assert len(log) == 0 and len(log.pending) == 20 and log.proof(receipts[0]) is None
    cp = log.checkpoint(key, dt.datetime(2018, 6, 10, 20, tzinfo=UTC8))
    assert cp.verify(key.public_key) and cp.checkpoint.size == 20 and not log.pending
    # The batch is written in leaf order, not in the order the ballots came.
    leaves = [log.tree.leaf(i) for i in range(20)]
    assert leaves == sorted(leaves) and batch_order_problem(leaves, [20]) is None
    for r in receipts:
        i = log.receipt_index(r)
        assert r == leaf_hash(log.entries[i]).hex()
        proof = log.proof(r, cp.checkpoint.size)
        assert proof is not None and proof.index == i
        assert verify_inclusion(bytes.fromhex(r), i, 20, proof.path, cp.checkpoint.root)
    assert log.proof("00" * 32) is None and log.proof("not hex") is None
    log.append_ballot(SPEC, ["p1"], "paper")
    assert log.close_batch() == 1
    assert log.proof(log.tree.leaf(20).hex(), 20) is None  # after the checkpoint
    # Rebuilding from the stored entries gives the same tree; a foreign cycle or a repeated
    # entry fails.
    again = BallotLog.from_entries("2018", "meilan-2018", log.entries)
    assert again.tree.root() == log.tree.root()
    with pytest.raises(EntryError):
        BallotLog.from_entries("2018", "meilan-2018", [*log.entries, log.entries[3]])
    with pytest.raises(EntryError):
        BallotLog.from_entries("2019", "meilan-2018", log.entries)
    with pytest.raises(EntryError):
        log.append_ballot(SPEC, ["p9"], "online")
    assert len(log) == 21 and not log.pending  # the refused ballot was not logged


def test_batch_order_problem_names_the_first_break():
    a, b, c = b"\x01" * 32, b"\x02" * 32, b"\x03" * 32
    assert batch_order_problem([a, b, c], [3]) is None
    assert batch_order_problem([b, c, a], [2]) is None  # a new batch may start lower
    assert batch_order_problem([b, a, c], [3]) == 1
    assert batch_order_problem([a, b, a], [2]) == 2  # a repeat across batches


def test_receipt_proof_json_checks_offline():
    import copy
    import json

    from civicbudget.ledger import verify_receipt_proof

    key = SigningKey.from_seed(b"\x03" * 32)
    log = BallotLog("2018", "meilan-2018")
    receipts = [log.append_ballot(SPEC, [f"p{1 + i % 3}"], "paper").receipt for i in range(13)]
    signed = log.checkpoint(key, dt.datetime(2018, 6, 10, 20, tzinfo=UTC8))
    for r in receipts:
        assert "entry" not in log.receipt_proof(r, signed)  # inclusion, not content
        obj = json.loads(json.dumps(log.receipt_proof(r, signed, with_entry=True)))
        assert verify_receipt_proof(obj, key.public_key)
        assert not verify_receipt_proof(obj, SigningKey.generate().public_key)
        for mutate in (
            lambda o: o.update(index=(o["index"] + 1) % 13),
            lambda o: o.update(tree_size=12),
            lambda o: o["audit_path"].reverse(),
            lambda o: o["audit_path"].pop(),
            lambda o: o["checkpoint"].update(size=12),
            lambda o: o.update(entry=o["entry"].replace("paper", "online")),
            lambda o: o.update(receipt="00" * 32),
            lambda o: o.update(audit_path="zz"),
            lambda o: o.pop("checkpoint"),
        ):
            bad = copy.deepcopy(obj)
            mutate(bad)
            assert not verify_receipt_proof(bad, key.public_key)
    assert not verify_receipt_proof("nonsense", key.public_key)
    log.append_ballot(SPEC, ["p1"], "online")
    log.close_batch()
    assert log.receipt_proof(log.tree.leaf(13).hex(), signed) is None
