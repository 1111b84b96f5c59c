"""Delete expired step-1 rows of web votes (run it from cron; each new step 1 also purges)."""

from django.core.management.base import BaseCommand

from civicbudget.voting.services import pending_votes_purge


class Command(BaseCommand):
    help = "Delete web votes' step-1 data older than 10 minutes."

    def handle(self, *args, **options):
        self.stdout.write(f"purged {pending_votes_purge()} expired step-1 row(s)")
