"""Send SMS through an adapter chosen in settings: console, file (default) or an HTTP gateway.

``CIVICBUDGET_SMS_BACKEND``: ``file`` (append JSON lines to ``DATA_DIR/sms-outbox.jsonl``,
for the demo and tests), ``console`` (print), or ``http`` with ``CIVICBUDGET_SMS_URL`` and
``CIVICBUDGET_SMS_TOKEN`` (POST JSON {"phone", "text"}). Phones never go to the log.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from pathlib import Path

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)


def mask(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else "****"


def outbox_path() -> Path:
    return Path(settings.DATA_DIR) / "sms-outbox.jsonl"


def sms_send(phone: str, text: str) -> None:
    """Send one message; raise OSError when the gateway refuses."""
    backend = os.environ.get("CIVICBUDGET_SMS_BACKEND", "file")
    if backend == "console":
        print(f"[SMS to {mask(phone)}] {text}", flush=True)  # noqa: T201
    elif backend == "http":
        request = urllib.request.Request(  # noqa: S310 - the operator's own gateway URL
            os.environ["CIVICBUDGET_SMS_URL"],
            data=json.dumps({"phone": phone, "text": text}).encode(),
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {os.environ.get('CIVICBUDGET_SMS_TOKEN', '')}"},
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
    logger.info("sms sent to %s", mask(phone))


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
