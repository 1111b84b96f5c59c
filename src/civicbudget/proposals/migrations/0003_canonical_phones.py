"""Proposers' phones (kept in clear for replies) re-read through the one canonical form, and
their keyed hash recomputed, so ratings and the voter check match whatever keyboard typed them.
A phone the canonical form cannot read is left as it was and reported by
``civicbudget manage identifiers_check``; nothing is merged."""

from django.db import migrations


def canonicalise(apps, schema_editor):
    from civicbudget.identity import IdentifierError, canonical_phone, keyed_hash

    Proposal = apps.get_model("proposals", "Proposal")
    batch = []
    rows = Proposal.objects.exclude(proposer_phone="").values_list("pk", "proposer_phone", "phone_hash")
    for pk, phone, phone_hash in rows.iterator(chunk_size=2000):
        try:
            canonical = canonical_phone(phone)
        except IdentifierError:
            continue
        digest = keyed_hash(canonical, "phone")
        if canonical != phone or digest != phone_hash:
            batch.append(Proposal(pk=pk, proposer_phone=canonical, phone_hash=digest))
        if len(batch) >= 2000:
            Proposal.objects.bulk_update(batch, ["proposer_phone", "phone_hash"])
            batch = []
    if batch:
        Proposal.objects.bulk_update(batch, ["proposer_phone", "phone_hash"])
    Objection = apps.get_model("results", "Objection")
    for objection in Objection.objects.exclude(phone="").only("pk", "phone").iterator(chunk_size=2000):
        try:
            canonical = canonical_phone(objection.phone)
        except IdentifierError:
            continue
        if canonical != objection.phone:
            Objection.objects.filter(pk=objection.pk).update(phone=canonical)


class Migration(migrations.Migration):

    dependencies = [
        ("proposals", "0002_phone_confirmed"),
        ("results", "0001_initial"),
    ]

    operations = [migrations.RunPython(canonicalise, migrations.RunPython.noop)]
