"""Hostile numbers: bounded on reading, refused clearly, and never decided in a float that
could under- or overflow (issue 13, point 7).

Values at the limits (costs of 10^18 and 10^-6, budgets of 0 and 10^18, a million points,
tens of thousands of voters) must give every rule the outcome of its exact path; values
beyond them a :class:`LimitError` (a ``ValueError``) or, in a file, a one-line message
naming the line and the limit, in well under a second.
"""

from __future__ import annotations

import subprocess
import sys
import time
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civicbudget.tally import (
    Election,
    PabulibError,
    Project,
    RuleSpec,
    mes,
    mes_kernel,
    parse_pabulib,
    tally,
    welfare,
)
from civicbudget.tally import pabulib as pabulib_mod
from civicbudget.tally._exact import Q, fmt
from civicbudget.tally.cli import main
from civicbudget.tally.greedy import greedy
from civicbudget.tally.limits import (
    MAX_AMOUNT,
    MAX_POINTS,
    LimitError,
    check_election,
    parse_number,
)
from civicbudget.tally.mes import mes_once, mes_with_completion
from civicbudget.tally.mes_fast import mes_interval, mes_once_fast
from civicbudget.tally.phragmen import sequential_phragmen
from civicbudget.tally.profile import prepare
from civicbudget.tally.tiebreak import tie_keys

PB = """META
key;value
budget;{budget}
vote_type;{vote_type}
{meta}PROJECTS
project_id;cost
1;{cost}
2;50
VOTES
voter_id;vote{points_header}
a;1,2{points_a}
b;2{points_b}
"""


def pb(
    cost: str = "60",
    budget: str = "100",
    meta: str = "",
    vote_type: str = "approval",
    points: tuple[str, str] | None = None,
) -> str:
    return PB.format(
        cost=cost,
        budget=budget,
        meta=meta,
        vote_type=vote_type,
        points_header=";points" if points else "",
        points_a=f";{points[0]},1" if points else "",
        points_b=f";{points[1]}" if points else "",
    )


# -- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12", F(12)),
        (" -0.5 ", F(-1, 2)),
        ("1,25", F(5, 4)),
        ("1.5e6", F(1_500_000)),
        ("2E-3", F(2, 1000)),
        (".5", F(1, 2)),
        ("7.", F(7)),
        ("1" + "0" * 40, F(10**40)),  # trailing zeros are not significant
        ("0." + "0" * 50 + "1", F(1, 10**51)),
        ("1e30", F(10**30)),
    ],
)
def test_plain_decimals_read_exactly(text: str, value: F) -> None:
    assert parse_number(text, "x") == value


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1e999999999", "exponent 999999999, beyond the limit of ±30"),
        ("1e-400", "exponent -400, beyond the limit of ±30"),
        ("1" * 5000, "5000 characters, beyond the limit of 64"),
        ("1234567890123456789012345678901", "31 significant digits, beyond the limit of 30"),
        ("sixty", "not a number"),
        ("1/3", "not a number"),
        ("nan", "not a number"),
        ("inf", "not a number"),
        ("1_000", "not a number"),
        ("", "not a number"),
        (".", "not a number"),
        ("e5", "not a number"),
    ],
)
def test_other_numbers_are_refused_before_any_value_is_built(text: str, words: str) -> None:
    started = time.perf_counter()
    with pytest.raises(LimitError, match=words.replace("(", r"\(")):
        parse_number(text, "x")
    assert time.perf_counter() - started < 0.05


def test_exact_amounts_print_without_float() -> None:
    assert fmt(F(10**400 + 1, 3)).startswith("3333")  # float() would overflow
    assert fmt(F(1, 10**400)) == "0.00"
    assert fmt(F(-1, 8)) == "-0.13"
    assert fmt(F(1234567, 4), grouping=True) == "308,641.75"


# -- files -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (pb(cost="1e999999999"), 7, "cost of project '1' has exponent 999999999"),
        (pb(cost="1e4000"), 7, "cost of project '1' has exponent 4000"),
        (pb(cost="1e-400"), 7, "cost of project '1' has exponent -400"),
        (pb(budget="9" * 5000), 3, "budget has 5000 characters, beyond the limit of 64"),
        (pb(cost="1000000000000000001"), 7, "above the limit of 10^18"),
        (pb(cost="1e19"), 7, "above the limit of 10^18"),
        (pb(budget="2e18"), 3, "budget is 2000000000000000000, above the limit of 10^18"),
        (pb(cost="0.0000001"), 7, "more than 6 decimal places"),
        (pb(budget="-1"), 3, "budget must be >= 0"),
        (pb(cost="0"), 7, "must be > 0"),
        (
            pb(vote_type="cumulative", points=("1000001", "1")),
            11,
            "points '1000001' above the limit of 1,000,000",
        ),
        (
            pb(vote_type="cumulative", points=("1e999999999", "1")),
            11,
            "points has exponent 999999999",
        ),
        (pb(meta="min_project_score_threshold;1e99999\n"), 5, "min_project_score_threshold"),
        (
            pb(meta="max_sum_points;1e99999\n", vote_type="cumulative", points=("1", "1")),
            5,
            "max_sum_points",
        ),
        (
            pb(meta="max_length;" + "9" * 5000 + "\n", vote_type="ordinal"),
            5,
            "max_length above the limit",
        ),
    ],
)
def test_hostile_files_are_refused_naming_the_line_and_the_limit(
    text: str, line: int, words: str
) -> None:
    started = time.perf_counter()
    with pytest.raises(PabulibError) as info:
        parse_pabulib(text)
    assert time.perf_counter() - started < 0.1
    assert info.value.line == line
    assert words in info.value.message


def test_numbers_at_the_limits_are_read_and_tallied_exactly() -> None:
    e = parse_pabulib(pb(cost="1e18", budget="1000000000000000000"))
    assert e.projects[0].cost == MAX_AMOUNT
    # 2 (cost 50) first; then 1 (10^18) no longer fits: exhaustive, Add1 stops at once
    assert tally(e, RuleSpec("mes", "cost", completion="add1")).winners == ("2",)
    assert tally(e, RuleSpec("greedy")).winners == ("2",)
    e = parse_pabulib(pb(cost="0.000001", budget="0.000001"))
    assert e.projects[0].cost == F(1, 10**6)
    expected = {"greedy": ("1",), "mes": (), "phragmen": ("1",), "mes-add1": ("1",)}
    for rule, winners in expected.items():
        assert tally(e, RuleSpec(rule)).winners == winners


def test_the_number_of_projects_and_voters_is_bounded(monkeypatch) -> None:
    monkeypatch.setattr(pabulib_mod, "MAX_VOTERS", 1)
    with pytest.raises(PabulibError, match=r"line 12: more than 1 voters \(the limit\)"):
        parse_pabulib(pb())
    monkeypatch.setattr(pabulib_mod, "MAX_PROJECTS", 1)
    with pytest.raises(PabulibError, match=r"line 8: more than 1 projects \(the limit\)"):
        parse_pabulib(pb())


def test_elections_built_in_code_are_checked_by_tally() -> None:
    base = dict(
        vote_type="approval",
        voter_ids=("a",),
        indptr=np.array([0, 1], dtype=np.int64),
        project_index=np.array([0], dtype=np.int32),
    )
    for cost, budget, words in (
        (F(10**4000), F(1), "above the limit of 10\\^18"),
        (F(1, 10**400), F(1), "denominator above the limit of 10\\^30"),
        (F(1), F(10**4000), "budget is about 10\\^4000"),
        (F(1), F(-1), "budget must be >= 0"),
    ):
        e = Election(projects=(Project("p", cost),), budget=budget, **base)
        for spec in (RuleSpec("greedy"), RuleSpec("mes"), RuleSpec("phragmen")):
            with pytest.raises(LimitError, match=words):
                tally(e, spec)
    ok = Election(projects=(Project("p", F(1, 3)),), budget=F(10**18, 7), **base)
    check_election(ok)  # any rational with a bounded denominator, in code
    assert tally(ok, RuleSpec("mes-add1")).winners == ("p",)


def _subset_sum(n_p: int = 200, seed: int = 1) -> Election:
    """Crafted costs (random, 16 digits) with equal votes: a hard knapsack for max-welfare."""
    import random

    rng = random.Random(seed)
    projects = tuple(Project(str(j), F(rng.randint(1, MAX_AMOUNT // n_p))) for j in range(n_p))
    rows = [sorted(rng.sample(range(n_p), n_p // 2)) for _ in range(50)]
    indptr = np.concatenate(([0], np.cumsum([len(r) for r in rows]))).astype(np.int64)
    return Election(
        projects=projects,
        budget=F(sum(p.cost for p in projects).__floor__() // 2),
        vote_type="approval",
        voter_ids=tuple(str(v) for v in range(50)),
        indptr=indptr,
        project_index=np.concatenate(rows).astype(np.int32),
    )


def test_max_welfare_refuses_a_search_that_would_run_for_hours(monkeypatch) -> None:
    monkeypatch.setattr(welfare, "MAX_STEPS", 20_000)  # the real limit: 1,000,000 steps
    started = time.perf_counter()
    with pytest.raises(LimitError, match="needs more than 20,000 search steps"):
        tally(_subset_sum(), RuleSpec("max-welfare"))
    assert time.perf_counter() - started < 5


def test_add1_refuses_after_too_many_runs(monkeypatch) -> None:
    monkeypatch.setattr(mes, "MAX_RUNS", 50)  # the real limit: 100,000 (real: at most 7,372)
    started = time.perf_counter()
    with pytest.raises(LimitError, match="MES add1-noexh: more than 50 runs of MES"):
        tally(_subset_sum(40), RuleSpec("mes", completion="add1-noexh"))
    assert time.perf_counter() - started < 10


# -- the command -----------------------------------------------------------------------------

HOSTILE = {
    "cost-1e999999999": pb(cost="1e999999999"),
    "cost-1e4000": pb(cost="1e4000"),
    "cost-1e-400": pb(cost="1e-400"),
    "budget-5000-digits": pb(budget="9" * 5000),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize("rule", ["greedy", "mes", "mes-add1", "phragmen", "max-welfare"])
def test_the_command_refuses_hostile_files_in_one_line(tmp_path, capsys, name, rule) -> None:
    path = tmp_path / f"{name}.pb"
    path.write_text(HOSTILE[name])
    started = time.perf_counter()
    assert main([str(path), "--rule", rule]) == 2
    assert time.perf_counter() - started < 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{path}:line " in err and "limit" in err


def test_the_command_refuses_a_hostile_threshold(tmp_path, capsys) -> None:
    path = tmp_path / "ok.pb"
    path.write_text(pb())
    started = time.perf_counter()
    assert main([str(path), "--rule", "greedy", "--threshold", "1e999999999"]) == 2
    assert time.perf_counter() - started < 1
    assert "--threshold has exponent 999999999" in capsys.readouterr().err


def test_the_installed_command_answers_hostile_files_in_under_a_second(tmp_path) -> None:
    """A fresh process (interpreter and numpy start-up included, about 0.3 s on a quiet
    machine): the best of three tries, so that a busy CI machine does not fail it."""
    exe = Path(sys.executable).with_name("civicbudget")
    for name, text in HOSTILE.items():
        path = tmp_path / f"{name}.pb"
        path.write_text(text)
        times = []
        for _ in range(3):
            started = time.perf_counter()
            done = subprocess.run(  # noqa: S603 - our own command on our own temporary file
                [str(exe), "tally", str(path), "--rule", "mes-add1"],
                capture_output=True,
                text=True,
                timeout=10,
                check=False,
            )
            times.append(time.perf_counter() - started)
            assert done.returncode == 2
            assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
            assert "limit" in done.stderr and done.stdout == ""
            if times[-1] < 1:
                break
        assert min(times) < 1, (name, times)


# -- every rule, at the limits: the exact outcome --------------------------------------------

AMOUNTS = st.one_of(
    st.sampled_from([F(MAX_AMOUNT), F(MAX_AMOUNT - 1), F(1, 10**6), F(3, 10**6), F(1)]),
    st.integers(1, MAX_AMOUNT).map(F),
    st.integers(1, 10**12).map(lambda k: F(k, 10**6)),
)


@st.composite
def extreme_elections(draw) -> Election:
    """Up to 5 projects with costs anywhere in [10^-6, 10^18], a budget at either end or in
    between, and up to 4 ballot groups of up to 60,000 identical voters (points up to the
    limit on points ballots): huge and tiny ratios of cost to budget to voters."""
    points = draw(st.booleans())
    n_p = draw(st.integers(1, 5))
    costs = [draw(AMOUNTS) for _ in range(n_p)]
    budget = draw(
        st.one_of(
            AMOUNTS,
            st.just(F(0)),
            st.sampled_from([F(1, 2), F(1), F(2)]).map(
                lambda k: min(F(MAX_AMOUNT), (k * sum(costs) * 10**6).__floor__() / F(10**6))
            ),
        )
    )
    groups = []
    for _ in range(draw(st.integers(0, 4))):
        chosen = draw(st.lists(st.integers(0, n_p - 1), unique=True, max_size=n_p))
        count = draw(st.sampled_from([1, 2, 7, 1000, 60_000]))
        pts = [draw(st.sampled_from([1, 2, 999_999, MAX_POINTS])) for _ in chosen]
        groups.append((count, chosen, pts))
    rows = [np.array(c, dtype=np.int32) for _, c, _ in groups]
    counts = [c for c, _, _ in groups]
    lengths = np.repeat([len(r) for r in rows], counts).astype(np.int64)
    indptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    flat = np.concatenate([np.tile(r, c) for r, c in zip(rows, counts, strict=True)] or [[]])
    pts = np.concatenate([np.tile(np.array(p, dtype=np.int64), c) for (c, _, p) in groups] or [[]])
    return Election(
        projects=tuple(Project(str(j), c) for j, c in enumerate(costs)),
        budget=budget,
        vote_type="cumulative" if points else "approval",
        voter_ids=tuple(str(v) for v in range(int(sum(counts)))),
        indptr=indptr,
        project_index=flat.astype(np.int32),
        points=pts.astype(np.int64) if points else None,
    )


def _add1_is_locally_right(prep, budget, keys, completion: str, result) -> None:
    """The kept run is exact, and Add1 stopped where its exact definition says."""
    b = result.run.voter_budget
    assert result.run.selected == mes_once(prep, b, keys).selected
    cost = sum((prep.costs[j] for j in result.run.selected), Q(0))
    assert cost <= budget
    available = {j for j in range(prep.num_projects) if prep.weight_total[j] > 0}
    chosen = set(result.run.selected)
    if completion == "add1":
        done = all(j in chosen or prep.costs[j] > budget - cost for j in available)
    else:
        done = chosen == available
    if not done:  # then the next increment overspends
        nxt = mes_once(prep, b + 1, keys).selected
        assert sum((prep.costs[j] for j in nxt), Q(0)) > budget


@settings(max_examples=40, deadline=None)
@given(extreme_elections())
def test_every_rule_gives_the_exact_outcome_at_the_limits(e: Election) -> None:
    check_election(e)  # valid, however extreme
    budget = Q(e.budget)
    utilities = (
        ("cost", "cardinality", "points", "points-cost")
        if e.points is not None
        else (
            "cost",
            "cardinality",
        )
    )
    for utility in utilities:
        prep = prepare(e, utility)
        keys = tie_keys(e, "lexicographic", prep.supporters)
        if e.num_voters:
            b0 = budget / e.num_voters
            exact = mes_once(prep, b0, keys).selected
            assert mes_once_fast(prep, b0, keys).selected == exact
            if mes_kernel.AVAILABLE:
                assert mes_kernel.FloatMES(prep, keys).run(b0) in (None, exact)
            assert mes_interval(prep, b0, b0, keys) in (None, sorted(exact))
        outcome = tally(e, RuleSpec("mes", utility), explain=False)
        if e.num_voters:
            assert list(outcome.winners) == [str(j) for j in exact]
        for completion in ("add1", "add1-noexh"):
            result = mes_with_completion(prep, budget, keys, completion)
            if e.num_voters:
                _add1_is_locally_right(prep, budget, keys, completion, result)
            if mes_kernel.AVAILABLE:  # the compiled run from the first increment: the same
                saved = mes.KERNEL_ENTRIES
                try:
                    mes.KERNEL_ENTRIES = 0
                    compiled = mes_with_completion(prep, budget, keys, completion)
                finally:
                    mes.KERNEL_ENTRIES = saved
                assert compiled.run.selected == result.run.selected
                assert compiled.run.voter_budget == result.run.voter_budget
        selected, _, _ = greedy(prep, budget, keys)
        assert tally(e, RuleSpec("greedy", utility), explain=False).winners == tuple(
            str(j) for j in selected
        )
        out = tally(e, RuleSpec("max-welfare", utility), explain=False)
        assert out.total_cost <= e.budget
    if e.points is None:
        prep = prepare(e, "cardinality")
        keys = tie_keys(e, "lexicographic", prep.supporters)
        selected, _, _ = sequential_phragmen(prep, budget, keys)
        assert tally(e, RuleSpec("phragmen"), explain=True).winners == tuple(
            str(j) for j in selected
        )
    full = tally(e, RuleSpec("mes", completion="add1-greedy"), explain=True)
    assert full.total_cost <= e.budget


BEYOND = st.sampled_from(
    [F(10**400), F(1, 10**400), F(10**61), F(1, 2**201), F(3, 7 * 10**350), F(2**53) ** 8]
)


@settings(max_examples=30, deadline=None)
@given(st.lists(BEYOND, min_size=1, max_size=3), BEYOND, st.integers(1, 5))
def test_beyond_the_float_range_the_fast_paths_go_exact(costs, budget, voters) -> None:
    """Past the limits tally refuses; the MES paths called directly stay exact."""
    projects = tuple(Project(str(j), c) for j, c in enumerate(costs))
    n_p = len(projects)
    flat = np.tile(np.arange(n_p, dtype=np.int32), voters)
    e = Election(
        projects=projects,
        budget=budget,
        vote_type="approval",
        voter_ids=tuple(str(v) for v in range(voters)),
        indptr=np.arange(0, n_p * voters + 1, n_p, dtype=np.int64),
        project_index=flat,
    )
    with pytest.raises(LimitError):
        tally(e, RuleSpec("mes"))
    for utility in ("cost", "cardinality"):
        prep = prepare(e, utility)
        keys = tie_keys(e, "lexicographic", prep.supporters)
        b0 = Q(budget) / voters
        exact = mes_once(prep, b0, keys).selected
        assert mes_once_fast(prep, b0, keys).selected == exact
        assert mes_interval(prep, b0, b0 + 1, keys) is None  # never proven in floats
        if mes_kernel.AVAILABLE:
            assert mes_kernel.FloatMES(prep, keys).run(b0) is None
