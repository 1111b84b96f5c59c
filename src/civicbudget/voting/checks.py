"""System checks of the voting settings that ``manage check --deploy`` reports."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def sms_backend_check(app_configs=None, **kwargs):
    """Say what the SMS backend means for online voting (the unsafe ones never get here)."""
    backend = getattr(settings, "SMS_BACKEND", "file")
    if backend == "disabled":
        return [checks.Info(
            "CIVICBUDGET_SMS_BACKEND is disabled: no voting code or reply is sent by SMS, so residents "
            "can vote only at polling points. Set CIVICBUDGET_SMS_BACKEND=http and CIVICBUDGET_SMS_URL.",
            id="civicbudget.I001")]
    if backend in ("file", "console"):
        return [checks.Warning(
            f"CIVICBUDGET_SMS_BACKEND={backend} keeps phone numbers and voting codes where local users "
            "can read them (allowed by CIVICBUDGET_ALLOW_INSECURE_SMS or outside production).",
            id="civicbudget.W001")]
    return []
