"""Fixtures: a pristine export written once per session, and fresh copies to tamper with."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from civicbudget.ledger import SigningKey, write_export
from ledger.builders import KEY_SEED, build_data


@pytest.fixture(scope="session")
def pristine(tmp_path_factory) -> Path:
    """A written export; tests copy it before changing anything."""
    data, key, _log = build_data()
    out = tmp_path_factory.mktemp("export") / "cycle-2018"
    write_export(out, data, key)
    return out


@pytest.fixture
def export_copy(pristine, tmp_path) -> Path:
    """A fresh copy of the pristine export to tamper with."""
    dest = tmp_path / "copy"
    shutil.copytree(pristine, dest)
    return dest


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.from_seed(KEY_SEED)
