"""``civicbudget manage outbox_work``: send the replies' due SMS and e-mail, in a loop."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from civicbudget.results.services import outbox_deliver_due


class Command(BaseCommand):
    help = "Work the reply outbox: send due SMS and e-mail, retry failures with back-off."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="work one pass and exit")
        parser.add_argument("--interval", type=float, default=5.0, help="seconds between passes")

    def handle(self, *args, once: bool, interval: float, **options):
        while True:
            done = outbox_deliver_due()
            if any(done.values()):
                self.stdout.write(f"sent {done['sent']} · retrying {done['retrying']} · failed {done['failed']}")
            if once:
                return
            if not any(done.values()):
                time.sleep(interval)
