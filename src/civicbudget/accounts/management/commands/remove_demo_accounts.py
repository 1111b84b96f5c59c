"""Remove the demo accounts and the demo password from a database (before production use)."""

from __future__ import annotations

from django.contrib.auth.hashers import check_password
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import ProtectedError, Q

from civicbudget.accounts.models import User
from civicbudget.accounts.security import DEMO_PASSWORD, DEMO_USERNAMES
from civicbudget.audit.services import audit_record


class Command(BaseCommand):
    help = ("Delete the demo staff accounts (or disable those that data still points to) and "
            "disable the demo password on every other account.")
    # The system check that refuses production while demo accounts exist must not stop the
    # very command that removes them.
    requires_system_checks: list[str] = []

    def handle(self, *args, **options) -> None:
        query = Q()
        for name in DEMO_USERNAMES:
            query |= Q(username__iexact=name)
        removed = disabled = 0
        for user in User.objects.filter(query).order_by("pk"):
            name = user.username
            try:
                with transaction.atomic():
                    user.delete()
                    audit_record(None, "demo_account_remove", None, message=f"Deleted {name}.")
                removed += 1
            except ProtectedError:
                # Records still name this account (proposals it entered, say): keep the row,
                # but it can never log in again and no longer carries a demo name.
                with transaction.atomic():
                    user.username = f"{name}-removed-{user.pk}"[:150]
                    user.is_active = False
                    user.set_unusable_password()
                    user.save(update_fields=["username", "is_active", "password"])
                    audit_record(None, "demo_account_remove", user, message=f"Disabled {name}.")
                disabled += 1
        reset = 0
        for user in User.objects.exclude(password="").iterator():
            if user.has_usable_password() and check_password(DEMO_PASSWORD, user.password):
                user.set_unusable_password()
                user.save(update_fields=["password"])
                audit_record(None, "demo_password_remove", user,
                             message="The demo password was disabled; set a new one.")
                reset += 1
        self.stdout.write(
            f"Demo accounts deleted: {removed}, disabled: {disabled}; "
            f"accounts whose demo password was disabled: {reset} "
            f"(give them a new one with `civicbudget manage changepassword NAME`)."
        )
