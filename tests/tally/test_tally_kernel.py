"""The compiled float MES run (mes_kernel) against the exact MES, and Add1 with and without it."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civicbudget.tally import (
    REFERENCE_RULES,
    Ballot,
    Project,
    RuleSpec,
    TallyCache,
    election_from_ballots,
    mes,
    mes_kernel,
    tally,
)
from civicbudget.tally._exact import Q
from civicbudget.tally.mes import mes_once, mes_with_completion
from civicbudget.tally.mes_fast import mes_once_fast
from civicbudget.tally.profile import prepare
from civicbudget.tally.tiebreak import tie_keys
from tally.tally_data import election, needs_data, pb_files, reference

KERNEL_ENTRIES = mes.KERNEL_ENTRIES
needs_jit = pytest.mark.skipif(not mes_kernel.AVAILABLE, reason="numba not installed")


@st.composite
def elections(draw):
    points = draw(st.booleans())
    n_projects = draw(st.integers(1, 8))
    ids = [str(i) for i in range(n_projects)]
    # costs from a wide range make exact ties rare, a narrow one makes them common
    wide = draw(st.booleans())
    costs = draw(
        st.lists(
            st.integers(1, 5000) if wide else st.sampled_from([10, 15, 20, 30]),
            min_size=n_projects,
            max_size=n_projects,
        )
    )
    budget = draw(st.integers(1, 3 * sum(costs)))
    ballots = []
    for v in range(draw(st.integers(0, 25))):
        chosen = draw(st.lists(st.sampled_from(ids), unique=True, max_size=n_projects))
        pts = tuple(draw(st.integers(1, 6)) for _ in chosen) if points else None
        ballots.append(Ballot(f"v{v}", tuple(chosen), pts))
    projects = [Project(i, Fraction(c)) for i, c in zip(ids, costs, strict=True)]
    return election_from_ballots(projects, budget, ballots, "cumulative" if points else "approval")


def _utilities(e):
    return (
        ("cost", "cardinality", "points", "points-cost")
        if e.points is not None
        else (
            "cost",
            "cardinality",
        )
    )


@needs_jit
@settings(max_examples=150, deadline=None)
@given(elections(), st.lists(st.integers(0, 60), min_size=1, max_size=4))
def test_the_compiled_run_is_the_exact_run_or_gives_up(e, steps) -> None:
    """Whatever it returns is exactly what the exact MES buys, in the same order."""
    if e.num_voters == 0:
        return
    for utility in _utilities(e):
        prep = prepare(e, utility)
        keys = tie_keys(e, "lexicographic", prep.supporters)
        kernel = mes_kernel.FloatMES(prep, keys)
        for step in steps:
            b = Q(e.budget) / e.num_voters + step
            got = kernel.run(b)
            if got is not None:
                assert got == mes_once(prep, b, keys).selected


@needs_jit
def test_the_compiled_run_decides_clear_elections_and_gives_up_on_exact_ties() -> None:
    projects = [Project(p, Fraction(c)) for p, c in (("a", 300), ("b", 170), ("c", 110))]
    clear = [
        Ballot("1", ("a", "b")),
        Ballot("2", ("a",)),
        Ballot("3", ("a", "c")),
        Ballot("4", ("b",)),
    ]
    e = election_from_ballots(projects, 800, clear)
    prep = prepare(e, "cost")
    keys = tie_keys(e, "lexicographic", prep.supporters)
    b = Q(e.budget) / e.num_voters
    assert mes_kernel.FloatMES(prep, keys).run(b) == mes_once(prep, b, keys).selected == [0, 1]
    # b and c: two supporters each, all paying in full: exactly the same price per utility
    tied = [Ballot("1", ("b",)), Ballot("2", ("b",)), Ballot("3", ("c",)), Ballot("4", ("c",))]
    e = election_from_ballots(projects, 600, tied)
    prep = prepare(e, "cost")
    keys = tie_keys(e, "lexicographic", prep.supporters)
    b = Q(e.budget) / e.num_voters
    # everyone pays in full: the prices are exactly 1/2 and 1/2, settled by the tie-break
    assert mes_kernel.FloatMES(prep, keys).run(b) == mes_once(prep, b, keys).selected == [1, 2]
    assert tally(e, RuleSpec("mes", "cost")).ties  # and reported by the exact final run
    outcome = tally(e, RuleSpec("mes", "cost", completion="add1"))
    assert [t.chosen for t in outcome.ties] == ["b"]


@needs_jit
@settings(max_examples=60, deadline=None)
@given(elections())
def test_add1_is_the_same_with_and_without_the_compiled_run(e) -> None:
    for utility in _utilities(e):
        prep = prepare(e, utility)
        keys = tie_keys(e, "lexicographic", prep.supporters)
        for completion in ("add1", "add1-noexh"):
            try:
                mes.KERNEL_ENTRIES = 0  # compiled from the first run, however small
                with_jit = mes_with_completion(prep, e.budget, keys, completion)
                mes_kernel.AVAILABLE = False
                without = mes_with_completion(prep, e.budget, keys, completion)
            finally:
                mes_kernel.AVAILABLE = True
                mes.KERNEL_ENTRIES = KERNEL_ENTRIES
            assert with_jit.run.selected == without.run.selected
            assert with_jit.steps == without.steps


@needs_jit
@needs_data
@pytest.mark.parametrize(
    "name", ["Poland_Warszawa_2019_Okecie.pb", "Poland_Krakow_2023_Biezanow-Prokocim.pb"]
)
def test_the_compiled_run_agrees_with_the_fast_run_on_real_elections(name: str) -> None:
    e = election(name)
    for utility in ("cost", "cardinality") if e.points is None else ("points", "points-cost"):
        prep = prepare(e, utility)
        keys = tie_keys(e, "lexicographic", prep.supporters)
        kernel = mes_kernel.FloatMES(prep, keys)
        b0 = Q(e.budget) / e.num_voters
        decided = 0
        for step in range(0, 400, 37):
            got = kernel.run(b0 + step)
            if got is not None:
                decided += 1
                assert got == mes_once_fast(prep, b0 + step, keys).selected
        assert decided > 0


def test_without_numba_the_outcome_is_the_same(monkeypatch) -> None:
    projects = [Project(p, Fraction(c)) for p, c in (("a", 300), ("b", 170), ("c", 110))]
    votes = [("a", "b"), ("a",), ("c", "b"), ("b",), ("a", "c")]
    e = election_from_ballots(projects, 500, [Ballot(str(i), v) for i, v in enumerate(votes)])
    spec = RuleSpec("mes", "cost", completion="add1-greedy")
    monkeypatch.setattr(mes, "KERNEL_ENTRIES", 0)
    expected = tally(e, spec, cache=TallyCache(e))
    monkeypatch.setattr(mes_kernel, "AVAILABLE", False)
    assert tally(e, spec, cache=TallyCache(e)) == expected


def test_the_kernel_logic_runs_as_plain_python() -> None:
    """The same functions, not compiled (numba's py_func), on a small election."""
    run = getattr(mes_kernel.mes_float_run, "py_func", mes_kernel.mes_float_run)
    price = getattr(mes_kernel._price, "py_func", mes_kernel._price)
    settle = getattr(mes_kernel._settle, "py_func", mes_kernel._settle)
    projects = [Project(p, Fraction(c)) for p, c in (("a", 300), ("b", 170), ("c", 110))]
    votes = [("a", "b"), ("a",), ("c", "b"), ("b",), ("a", "c")]
    e = election_from_ballots(projects, 500, [Ballot(str(i), v) for i, v in enumerate(votes)])
    prep = prepare(e, "cost")
    keys = tie_keys(e, "lexicographic", prep.supporters)
    k = mes_kernel.FloatMES(prep, keys)
    orig = mes_kernel._price, mes_kernel._settle
    mes_kernel._price, mes_kernel._settle = price, settle
    try:
        for step in (0, 20, 50):
            b = Q(e.budget) / e.num_voters + step
            n = run(
                float(b),
                k.cost,
                k.scale,
                k.wtot,
                k.unit,
                k.wint,
                k.rank,
                k.p_ptr,
                k.p_group,
                k.p_w,
                k.p_mult,
                k.nb_ptr,
                k.nb_idx,
                k.has_nb,
                k.bg,
                k.eg,
                k.cand,
                k.cb,
                k.out,
            )
            if n != mes_kernel.BAIL:
                assert k.out[:n].tolist() == mes_once(prep, b, keys).selected
    finally:
        mes_kernel._price, mes_kernel._settle = orig


def test_small_elections_stay_in_python_and_large_ones_go_compiled(monkeypatch) -> None:
    """Small Add1 runs never pay for loading numba; the choice depends on the work only."""
    made = []
    real = mes._compiled_mes
    monkeypatch.setattr(
        mes, "_compiled_mes", lambda prep, keys: made.append(prep) or real(prep, keys)
    )
    projects = [Project(p, Fraction(c)) for p, c in (("a", 300), ("b", 170), ("c", 110))]
    votes = [("a", "b"), ("a",), ("c", "b"), ("b",), ("a", "c")]
    e = election_from_ballots(projects, 500, [Ballot(str(i), v) for i, v in enumerate(votes)])
    spec = RuleSpec("mes", "cost", completion="add1-greedy")
    small = tally(e, spec, cache=TallyCache(e))
    assert made == []
    monkeypatch.setattr(mes, "KERNEL_AFTER", 0.0)
    assert tally(e, spec, cache=TallyCache(e)) == small
    assert len(made) == 1


@needs_jit
@needs_data
def test_add1_reference_outcomes_with_the_compiled_run_on_every_file(monkeypatch) -> None:
    """The reference test uses the compiled run on large files only; here on all of them."""
    monkeypatch.setattr(mes, "KERNEL_ENTRIES", 0)
    checked = 0
    for name in pb_files():
        expected = reference().get(name, {})
        keys = [k for k in expected if "add1" in k]
        if not keys:
            continue
        e = election(name)
        cache = TallyCache(e)
        for key in keys:
            outcome = tally(e, REFERENCE_RULES[key], explain=False, cache=cache)
            assert sorted(outcome.winners) == expected[key]["winners"], (name, key)
            checked += 1
    assert checked > 300
