"""Where the browser tests find Debian's chromium and put their screenshots."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CIVICBUDGET_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("CIVICBUDGET_TEST_ARTIFACTS", "test-results"))
needs_chromium = pytest.mark.skipif(not shutil.which(CHROMIUM), reason=f"no chromium at {CHROMIUM}")
