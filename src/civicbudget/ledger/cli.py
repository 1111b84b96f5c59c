"""``civicbudget ledger verify DIR`` and ``civicbudget ledger proof DIR RECEIPT``.

Exit codes: 0 when everything holds, 1 at the first discrepancy (printed as
``file:line: what``), 2 for input that cannot be read or a usage error. Never a
traceback: an unexpected error while checking counts as a failed verification.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from civicbudget.ledger.export import ExportError, read_export
from civicbudget.ledger.signing import KeyFormatError, PublicKey
from civicbudget.ledger.verify import check_receipt, read_checkpoints_file, verify_export

USAGE = """usage: civicbudget ledger verify DIR [--key KEY] [--checkpoints FILE] [--audit FILE]
       civicbudget ledger proof DIR RECEIPT [--key KEY]

  verify  check an exported ballot log: manifest hashes and signature, checkpoint
          signatures, roots and consistency, every ballot, the .pb files, and a
          re-tally of every scope against results.json
  proof   print the inclusion proof of a receipt against the last checkpoint

  --key KEY  the log's public key as published by the organiser (a PEM file, or 64 hex
             digits): without it the export is checked against the key it carries.
  --checkpoints FILE  signed checkpoints collected while voting was open (one JSON
             line each, as in checkpoints.jsonl): each must match the exported log.
  --audit FILE  the published audit of the paper count (/cycles/<id>/audit.json), checked
             after the log by civicbudget.rla (docs/audit.md): its sample re-derived from
             the seed, its p-values recomputed, its margins and records against the log.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would sys.exit(2) with its own text
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="civicbudget ledger", add_help=False)
    sub = p.add_subparsers(dest="command")
    v = sub.add_parser("verify", add_help=False)
    v.add_argument("directory")
    v.add_argument("--key")
    v.add_argument("--checkpoints")
    pr = sub.add_parser("proof", add_help=False)
    pr.add_argument("directory")
    pr.add_argument("receipt")
    pr.add_argument("--key")
    return p


def _load_key(text: str | None) -> PublicKey | None:
    if text is None:
        return None
    path = Path(text)
    if len(text) != 64 and path.is_file():
        return PublicKey.load(path.read_bytes())
    return PublicKey.load(text)


def main(argv: list[str]) -> int:
    """Run ``civicbudget ledger ...``; return the exit code."""
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return 0 if argv else 2
    try:
        args = _parser().parse_args(argv)
    except _UsageError as exc:
        print(f"civicbudget ledger: {exc}\n\n{USAGE}", file=sys.stderr)
        return 2
    try:
        key = _load_key(args.key)
    except (KeyFormatError, OSError) as exc:
        print(f"civicbudget ledger: --key: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "verify":
            known = read_checkpoints_file(args.checkpoints) if args.checkpoints else []
            result = verify_export(args.directory, key, known, args.checkpoints or "")
            print(result.summary())
            return 0
        export = read_export(args.directory, key)
        print(json.dumps(check_receipt(export, args.receipt), indent=1, ensure_ascii=False))
        return 0
    except ExportError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 2 if exc.unreadable else 1
    except BrokenPipeError:
        # The reader went away (``| head``): not a verification failure, nothing to say.
        return 0
    except Exception as exc:  # a verifier must fail closed, and quietly
        print(
            f"FAILED: unexpected error while checking: {type(exc).__name__}: {exc}", file=sys.stderr
        )
        return 1
