"""Voting: eligibility, identity by keyed hash, online and paper channels, one vote per scope,
the public ballot log (via :mod:`civicbudget.ledger`) and counting (via :mod:`civicbudget.tally`)."""
