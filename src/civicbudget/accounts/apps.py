from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "civicbudget.accounts"
    verbose_name = _("Staff accounts")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_login_failed

        from civicbudget.accounts import checks  # noqa: F401 - registers the system check
        from civicbudget.accounts.login_audit import login_failed_audit

        user_login_failed.connect(login_failed_audit, dispatch_uid="civicbudget_login_failed")
