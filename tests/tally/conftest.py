"""Tally tests: no background compile of the compiled MES run from commands run in-process
(test_tally_jit.py starts one on purpose, in a subprocess with its own environment)."""

from __future__ import annotations

import os

os.environ.setdefault("CIVICBUDGET_TALLY_NO_BACKGROUND", "1")
