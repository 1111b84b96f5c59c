"""civicbudget.ledger imports no Django and no civicbudget package but itself and tally
(and the root package, for its version number only)."""

from __future__ import annotations

import ast
from pathlib import Path

import civicbudget.ledger

ALLOWED = ("civicbudget.ledger", "civicbudget.tally")
FORBIDDEN = ("django", "ninja", "django_tasks")


def test_imports():
    package = Path(civicbudget.ledger.__file__).parent
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top not in FORBIDDEN, (path.name, name)
                if top == "civicbudget":
                    assert name == "civicbudget" or name.startswith(ALLOWED), (path.name, name)
