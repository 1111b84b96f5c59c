"""Tally participatory-budgeting elections: from ballots to winning projects.

A pure library (numpy, and numba to speed up Add1 when installed; no Django): read a
pabulib ``.pb`` file or build an :class:`Election`, pick a :class:`RuleSpec`, and
:func:`tally` returns a frozen :class:`Outcome` with the winners, their cost, the ties
broken and an explanation per project. Arithmetic is exact, and the default tie-break
(project id as a string) matches pabutools, so outcomes are identical to pabutools 1.2.x
on every rule here::

    from civicbudget.tally import RuleSpec, read_pabulib, tally

    election = read_pabulib("Poland_Warszawa_2026.pb")
    outcome = tally(election, RuleSpec("mes", "cost", completion="add1-greedy"))
"""

from civicbudget.tally.constraints import CategoryBound, ConstraintError
from civicbudget.tally.model import Ballot, Election, Project, election_from_ballots
from civicbudget.tally.outcome import Outcome, ProjectExplanation, TieBreak
from civicbudget.tally.pabulib import (
    PabulibError,
    format_pabulib,
    parse_pabulib,
    read_pabulib,
    write_pabulib,
)
from civicbudget.tally.rules import COMPLETIONS, REFERENCE_RULES, RULES, RuleSpec, TallyCache, tally

__all__ = [
    "COMPLETIONS",
    "REFERENCE_RULES",
    "RULES",
    "Ballot",
    "CategoryBound",
    "ConstraintError",
    "Election",
    "Outcome",
    "PabulibError",
    "Project",
    "ProjectExplanation",
    "RuleSpec",
    "TallyCache",
    "TieBreak",
    "election_from_ballots",
    "format_pabulib",
    "parse_pabulib",
    "read_pabulib",
    "tally",
    "write_pabulib",
]
