"""The ``civicbudget`` command: demo, serve, manage, and the pure-library tools.

Sub-commands that need the platform (``demo``, ``serve``, ``manage``) set up Django;
the pure-library tools (``tally``, ``textmatch``) never import it, so they start fast
and run anywhere.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

USAGE = """usage: civicbudget <command> [options]

commands:
  demo       create or reuse a demo database and serve it on 127.0.0.1
  serve      run the production server (gunicorn)
  manage     run a Django management command (civicbudget manage help)
  tally      compute the winners of a pabulib .pb election
  portion    divide a budget between themes from each voter's own division
  textmatch  group near-duplicate proposals
  ledger     verify (or export) a cycle's public ballot log
  export     write a cycle's open data: --cycle ID --format csv|json|pb DIR
  audit      audit the paper count: start|sample|record|status --cycle ID ...; check FILE
  outreach   write a cycle's publicity kit (posters, leaflets, boards, texts): --cycle ID DIR
  ballots    paper ballot sheets: print --cycle ID --sheets N OUT.pdf, scan --cycle ID FILE...

Every platform command works on the same data: --data-dir DIR (default
./civicbudget-data) or the database in DATABASE_URL when it is set.
"""


def _pop_option(argv: list[str], name: str, default: str | None = None) -> str | None:
    """Remove ``--name VALUE`` or ``--name=VALUE`` from argv and return VALUE."""
    for i, arg in enumerate(argv):
        if arg == name:
            if i + 1 >= len(argv):
                raise SystemExit(f"civicbudget: {name} needs a value")
            value = argv[i + 1]
            del argv[i : i + 2]
            return value
        if arg.startswith(name + "="):
            del argv[i]
            return arg.split("=", 1)[1]
    return default


def _setup_django(argv: list[str]) -> None:
    data_dir = _pop_option(argv, "--data-dir")
    if data_dir is not None:
        os.environ["CIVICBUDGET_DATA_DIR"] = str(Path(data_dir).resolve())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "civicbudget.settings")
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        # An unsafe or incomplete setting (e.g. CIVICBUDGET_SMS_BACKEND in production): one
        # clear line naming it, no traceback, and nothing starts.
        raise SystemExit(f"civicbudget: {exc}") from None


def _manage(argv: list[str]) -> int:
    _setup_django(argv)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["civicbudget manage", *argv])
    return 0


def _warm_tally() -> None:
    """Compile the tally's compiled MES run in the background (once per install)."""
    from civicbudget.tally import jit

    jit.warm_in_background()


def _demo(argv: list[str]) -> int:
    if not {"-h", "--help"} & set(argv):
        # Help is printed before Django starts: asking for it creates no data directory.
        _setup_django(argv)
        _warm_tally()
    from civicbudget.demo.runner import run_demo

    return run_demo(argv)


def _export(argv: list[str]) -> int:
    _setup_django(argv)
    from civicbudget.opendata.cli import export_main

    return export_main(argv)


def _outreach(argv: list[str]) -> int:
    _setup_django(argv)
    from civicbudget.outreach.cli import outreach_main

    return outreach_main(argv)


def _ballots(argv: list[str]) -> int:
    if not {"-h", "--help"} & set(argv[:1]):
        _setup_django(argv)
    from civicbudget.paper.cli import main as ballots_main

    return ballots_main(argv)


def _serve(argv: list[str]) -> int:
    _setup_django(argv)
    _warm_tally()
    from civicbudget.web.server import run_gunicorn

    return run_gunicorn(argv)


def _tally(argv: list[str]) -> int:
    from civicbudget.tally.cli import main as tally_main

    return tally_main(argv)


def _ledger(argv: list[str]) -> int:
    if argv and argv[0] == "export":
        # Exporting reads the platform's database; verifying needs nothing but the files.
        _setup_django(argv)
        from civicbudget.voting.export import ledger_export_main

        return ledger_export_main(argv[1:])
    from civicbudget.ledger.cli import main as ledger_main

    audit = _pop_option(argv, "--audit") if argv and argv[0] == "verify" else None
    code = ledger_main(argv)
    if audit is None or code != 0:
        return code
    # The published audit of the paper count, against the log just verified (pure code:
    # the ledger package itself stays free of it).
    import argparse

    from civicbudget.rla.cli import verify_with_log

    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("directory")
    where.add_argument("--key")
    where.add_argument("--checkpoints")
    return verify_with_log(where.parse_known_args(argv[1:])[0].directory, audit)


def _audit(argv: list[str]) -> int:
    if argv and argv[0] == "check":
        # Re-checking a published audit needs only the file.
        from civicbudget.rla.cli import main as check_main

        return check_main(argv[1:])
    _setup_django(argv)
    from civicbudget.paperaudit.cli import main as audit_main

    return audit_main(argv)


def _portion(argv: list[str]) -> int:
    from civicbudget.tally.portion_cli import main as portion_main

    return portion_main(argv)


def _textmatch(argv: list[str]) -> int:
    from civicbudget.textmatch.cli import main as textmatch_main

    return textmatch_main(argv)


COMMANDS: dict[str, Callable[[list[str]], int]] = {
    "demo": _demo,
    "serve": _serve,
    "manage": _manage,
    "tally": _tally,
    "portion": _portion,
    "textmatch": _textmatch,
    "ledger": _ledger,
    "export": _export,
    "audit": _audit,
    "outreach": _outreach,
    "ballots": _ballots,
}


def main(argv: list[str] | None = None) -> int:
    """Run the civicbudget command line; return the process exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return 0
    command = COMMANDS.get(args[0])
    if command is None:
        print(f"civicbudget: unknown command {args[0]!r}\n\n{USAGE}", file=sys.stderr)
        return 2
    try:
        return command(args[1:]) or 0
    except BrokenPipeError:
        # The reader went away (`... | head`): not an error of ours, and no traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
