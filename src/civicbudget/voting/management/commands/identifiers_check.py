"""Report what the canonical form of identifiers reveals in an existing database; change nothing.

Only keyed hashes of document numbers and of voters' phones are stored, so their old
spellings cannot be re-derived: voters are checked by what the hashes still show (more
voters behind one phone than the cycle allows). Phones kept in clear (proposers,
objections) are re-read through the canonical form; rows it cannot read are listed.
Nothing is merged or deleted: the operator decides.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from civicbudget.identity import IdentifierError, canonical_phone, keyed_hash


class Command(BaseCommand):
    help = "Report identifiers that the canonical form finds unreadable or duplicated (changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--cycle", type=int, help="only this cycle")
        parser.add_argument("--strict", action="store_true", help="exit with status 1 when anything is found")

    def handle(self, *args, **options):
        from civicbudget.cycles.models import Cycle
        from civicbudget.proposals.models import Proposal
        from civicbudget.results.models import Objection
        from civicbudget.voting.models import Voter
        from civicbudget.voting.services import phone_limit

        cycles = Cycle.objects.order_by("pk")
        if options["cycle"]:
            cycles = cycles.filter(pk=options["cycle"])
        findings = 0
        for cycle in cycles:
            limit = phone_limit(cycle)
            crowded = list(Voter.objects.filter(cycle=cycle).exclude(phone_hash="").values_list("phone_hash")
                           .annotate(n=Count("id")).filter(n__gt=limit).order_by("-n")
                           .values_list("phone_hash", "n"))
            for phone_hash, n in crowded:
                self.stdout.write(f"cycle {cycle.pk}: phone {phone_hash[:10]} confirmed {n} voters "
                                  f"(limit {limit}); review at a polling point, nothing merged")
            findings += len(crowded)
            unreadable = bad_hash = 0
            for pk, code, phone, phone_hash in (Proposal.objects.filter(cycle=cycle).exclude(proposer_phone="")
                                                .values_list("pk", "tracking_code", "proposer_phone", "phone_hash")
                                                .iterator(chunk_size=2000)):
                try:
                    canonical = canonical_phone(phone)
                except IdentifierError as exc:
                    unreadable += 1
                    self.stdout.write(f"cycle {cycle.pk}: proposal {code} (id {pk}): phone cannot be read: {exc}")
                    continue
                if canonical != phone or phone_hash != keyed_hash(canonical, "phone"):
                    bad_hash += 1
                    self.stdout.write(f"cycle {cycle.pk}: proposal {code} (id {pk}): phone not in canonical form; "
                                      "run `civicbudget manage migrate`")
            findings += unreadable + bad_hash
            proposers = (Proposal.objects.filter(cycle=cycle).exclude(phone_hash="").values_list("phone_hash")
                         .annotate(n=Count("id")).filter(n__gt=1).count())
            self.stdout.write(f"cycle {cycle.pk}: {len(crowded)} phone(s) over the voter limit, "
                              f"{unreadable} unreadable and {bad_hash} non-canonical proposer phone(s), "
                              f"{proposers} phone(s) behind several proposals (allowed, for information)")
        objections = 0
        for pk, phone in Objection.objects.exclude(phone="").values_list("pk", "phone").iterator(chunk_size=2000):
            try:
                if canonical_phone(phone) == phone:
                    continue
            except IdentifierError:
                pass
            objections += 1
            self.stdout.write(f"objection {pk}: phone not in canonical form or unreadable")
        findings += objections
        self.stdout.write("Document numbers and voters' phones are stored only as keyed hashes: a voter "
                          "registered under another script's digits before the canonical form cannot be "
                          "matched to their ASCII spelling from the database (see docs/voting.md).")
        self.stdout.write(f"{findings} finding(s).")
        if options["strict"] and findings:
            raise CommandError(f"{findings} finding(s)")
