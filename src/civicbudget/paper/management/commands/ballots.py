"""``civicbudget manage ballots print|scan ...``: the same as ``civicbudget ballots``."""

import argparse

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Print paper ballot sheets and read scanned ones (civicbudget ballots --help)."

    def add_arguments(self, parser):
        # Everything after the sub-command, options included, goes to civicbudget.paper.cli.
        parser.add_argument("args", nargs=argparse.REMAINDER)

    def run_from_argv(self, argv):
        # Everything after "ballots" goes to the command's own parser, options included.
        from civicbudget.paper.cli import main

        code = main(argv[2:])
        if code:
            raise SystemExit(code)

    def handle(self, *args, **options):
        from civicbudget.paper.cli import main

        code = main(list(args))
        if code:
            raise CommandError(f"exit status {code}")
