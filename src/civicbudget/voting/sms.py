"""Send SMS through an adapter chosen in settings (``settings.SMS_BACKEND``).

``CIVICBUDGET_SMS_BACKEND``: ``file`` (append JSON lines to ``DATA_DIR/sms-outbox.jsonl``,
development's default, for the demo and tests), ``console`` (print), ``http`` with
``CIVICBUDGET_SMS_URL`` and ``CIVICBUDGET_SMS_TOKEN`` (POST JSON {"phone", "text"}), or
``disabled`` (production's default: nothing is sent, an error is logged). Production refuses
``file`` and ``console`` at start-up (see ``settings.sms_backend``). Phones, codes and texts
never go to the log.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from pathlib import Path

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)


def mask(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "****"


def outbox_path() -> Path:
    return Path(settings.DATA_DIR) / "sms-outbox.jsonl"


class SmsDisabled(OSError):
    """No SMS backend is configured (production's default)."""


def sms_send(phone: str, text: str) -> None:
    """Send one message; raise OSError when the gateway refuses or SMS is disabled."""
    backend = settings.SMS_BACKEND
    if backend == "disabled":
        logger.error("SMS not sent: CIVICBUDGET_SMS_BACKEND is disabled (set http and CIVICBUDGET_SMS_URL)")
        raise SmsDisabled("SMS is disabled on this server")
    if backend == "console":
        print(f"[SMS to {mask(phone)}] {text}", flush=True)  # noqa: T201
    elif backend == "http":
        request = urllib.request.Request(  # noqa: S310 - the operator's own gateway URL
            settings.SMS_URL,
            data=json.dumps({"phone": phone, "text": text}).encode(),
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {settings.SMS_TOKEN}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            if response.status >= 300:
                raise OSError(f"SMS gateway answered {response.status}")
    else:
        path = outbox_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"at": timezone.now().isoformat(), "phone": phone, "text": text},
                                ensure_ascii=False) + "\n")
    # Not even a masked phone: seven of its eleven digits would remain.
    logger.info("sms sent through %s", backend)


def last_message_to(phone: str) -> str | None:
    """Return the last text the file backend sent to ``phone`` (tests and the demo)."""
    path = outbox_path()
    if not path.exists():
        return None
    found = None
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        if item["phone"] == phone:
            found = item["text"]
    return found
