"""Where a visitor came from: ``?src=CODE`` on a landing, kept in the session as the code only.

The session keeps the outreach point's code and nothing else (no phone, no identity). A
proposal, a voter's registration or a rating made in that session records the code when it
names a point of the same cycle; anything else is dropped silently, so a made-up ``src``
changes no figure.
"""

from __future__ import annotations

import re

SESSION_KEY = "outreach_src"
#: Lower-case ASCII words joined by hyphens, 2 to 40 characters: "poster-haida-market".
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
#: Short links of projects (``/s/p123``): a point's code may not look like one.
PROJECT_CODE_RE = re.compile(r"^p([0-9]{1,12})$")


def clean_code(value: str | None) -> str:
    """Return ``value`` as a well-formed code, or "" when it is not one."""
    value = (value or "").strip().lower()
    return value if CODE_RE.match(value) else ""


def source_for(request, cycle) -> str:
    """Return the session's source code when it is an outreach point of ``cycle``, else ""."""
    from civicbudget.outreach.models import OutreachPoint

    code = clean_code(request.session.get(SESSION_KEY)) if hasattr(request, "session") else ""
    if code and OutreachPoint.objects.filter(cycle=cycle, code=code).exists():
        return code
    return ""


class OutreachSourceMiddleware:
    """Keep a landing's well-formed ``?src=`` in the session (the last one wins)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "GET" and "src" in request.GET and hasattr(request, "session"):
            code = clean_code(request.GET.get("src"))
            if code and request.session.get(SESSION_KEY) != code:
                request.session[SESSION_KEY] = code
        return self.get_response(request)
