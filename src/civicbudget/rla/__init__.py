"""Risk-limiting audits of a paper count: public-seed sampling, assertions and risk measures.

A pure library (no Django, no app): the platform gives it the ballot manifest (boxes and
their sheets), the reported outcome and the officers' readings of sampled sheets, and it
answers with the sample, the assertions that imply the outcome and their p-values.

- :mod:`civicbudget.rla.sampler`: Rivest's SHA-256 sampler (``sampler.py``, 2011) over a
  manifest, with replacement, so anyone can re-derive the sample from the seed.
- :mod:`civicbudget.rla.assertions`: greedy PB (approval, by votes) reduced to pairwise
  SHANGRLA assertions "w got more votes than l".
- :mod:`civicbudget.rla.risk`: the ballot-level comparison audit (Kaplan-Markov risk
  function), the escalation plan, and the fixed-size fallback for other rules.

The mathematics is written out in docs/audit.md.
"""

from civicbudget.rla.assertions import (
    Assertion,
    NotReducible,
    greedy_assertions,
    greedy_replay,
)
from civicbudget.rla.procedure import AuditRun, run_audit
from civicbudget.rla.risk import (
    Evaluation,
    evaluate,
    fixed_sample_size,
    initial_sample_size,
    overstatement,
)
from civicbudget.rla.sampler import (
    Draw,
    SeedError,
    check_seed,
    draw_sample,
    locate,
    ticket,
    ticket_index,
)

__all__ = [
    "Assertion",
    "AuditRun",
    "Draw",
    "Evaluation",
    "NotReducible",
    "SeedError",
    "check_seed",
    "draw_sample",
    "evaluate",
    "fixed_sample_size",
    "greedy_assertions",
    "greedy_replay",
    "initial_sample_size",
    "locate",
    "overstatement",
    "run_audit",
    "ticket",
    "ticket_index",
]
