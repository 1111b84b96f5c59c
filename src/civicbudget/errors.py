"""Domain errors raised by services: each says what is wrong and where."""

from __future__ import annotations

# An answer stays a few KB whatever the input: a file with 50,000 bad rows gets the first
# problems listed and a count of the rest, and no message quotes more than a line of input.
MAX_DETAILS = 20
MAX_TEXT = 100

class ServiceError(Exception):
    """A refused state change. ``code`` is stable for API clients; ``field`` names the input."""

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None,
                 details: list[dict] | None = None) -> None:
        message = _clip(message, 3 * MAX_TEXT)
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = _clip(field, 100) if field else field
        details = details or []
        self.details_omitted = max(0, len(details) - MAX_DETAILS)
        self.details = [{k: _clip(v, MAX_TEXT) if isinstance(v, str) else v for k, v in d.items()}
                        for d in details[:MAX_DETAILS]]

    def as_dict(self) -> dict:
        data: dict = {"code": self.code, "message": self.message}
        if self.field:
            data["field"] = self.field
        if self.details:
            data["details"] = self.details
        if self.details_omitted:
            data["details_omitted"] = self.details_omitted
        return data


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class PermissionDenied(ServiceError):
    code = "permission_denied"


class NotFound(ServiceError):
    code = "not_found"


class PreconditionFailed(ServiceError):
    code = "precondition_failed"


class RateLimited(ServiceError):
    """Too many requests from one client address or phone in a window (HTTP 429)."""

    code = "rate_limited"


class ImportRejected(ServiceError):
    """A file import refused whole; ``details`` lists every bad row and field."""

    code = "import_rejected"
