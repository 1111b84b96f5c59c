"""Load the demo data into the current database (once)."""

from django.core.management.base import BaseCommand, CommandError

from civicbudget.demo.data import demo_exists, load_demo
from civicbudget.demo.guard import demo_refusal


class Command(BaseCommand):
    help = "Load the deterministic demo district (美兰区) unless it is there already."

    def handle(self, *args, **options):
        if (refusal := demo_refusal()) is not None:
            raise CommandError(refusal)
        if demo_exists():
            self.stdout.write("Demo data exists already.")
            return
        logins = load_demo()
        self.stdout.write(f"Demo loaded; {len(logins)} staff logins.")
