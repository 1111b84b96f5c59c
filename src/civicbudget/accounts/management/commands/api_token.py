"""Create, list or revoke API tokens from the command line (docs/api.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from civicbudget.accounts.models import ApiToken, User
from civicbudget.accounts.tokens import SCOPES, token_create, token_revoke
from civicbudget.errors import ServiceError


class Command(BaseCommand):
    help = "Create (printed once), list or revoke API tokens of a staff account."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token and print it once")
        create.add_argument("username")
        create.add_argument("--name", required=True)
        create.add_argument("--scope", action="append", dest="scopes", required=True,
                            choices=sorted(SCOPES), help="repeat for several scopes")
        create.add_argument("--days", type=int, default=90)
        listing = sub.add_parser("list", help="list a user's tokens (never the tokens)")
        listing.add_argument("username")
        revoke = sub.add_parser("revoke", help="revoke a token by its id")
        revoke.add_argument("token_id", type=int)

    def handle(self, *args, **options) -> None:
        # The command line speaks for the token's owner: the audit trail names that account.
        action = options["action"]
        if action == "revoke":
            token = ApiToken.objects.select_related("owner").filter(pk=options["token_id"]).first()
            if token is None:
                raise CommandError(f"No API token {options['token_id']}.")
            token_revoke(actor=token.owner, token=token)
            self.stdout.write(f"Revoked token {token.pk} ({token.name}) of {token.owner.username}.")
            return
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No account named {options['username']}.")
        if action == "list":
            now = timezone.now()
            for t in ApiToken.objects.filter(owner=user):
                state = ("revoked" if t.revoked_at else "expired" if t.expires_at <= now
                         else "active")
                self.stdout.write(f"{t.pk}\t{t.prefix}…\t{t.name}\t{','.join(t.scopes)}\t"
                                  f"expires {t.expires_at:%Y-%m-%d}\t{state}")
            return
        try:
            token, clear = token_create(actor=user, owner=user, name=options["name"],
                                        scopes=options["scopes"], days=options["days"])
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Token {token.pk} for {user.username}, scopes "
                          f"{', '.join(token.scopes)}, expires {token.expires_at:%Y-%m-%d}.")
        self.stdout.write("Copy it now, it is not shown again:")
        self.stdout.write(clear)

