"""Domain errors raised by services: each says what is wrong and where."""

from __future__ import annotations


class ServiceError(Exception):
    """A refused state change. ``code`` is stable for API clients; ``field`` names the input."""

    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None,
                 details: list[dict] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field
        self.details = details or []

    def as_dict(self) -> dict:
        data: dict = {"code": self.code, "message": self.message}
        if self.field:
            data["field"] = self.field
        if self.details:
            data["details"] = self.details
        return data


class PermissionDenied(ServiceError):
    code = "permission_denied"


class NotFound(ServiceError):
    code = "not_found"


class PreconditionFailed(ServiceError):
    code = "precondition_failed"


class ImportRejected(ServiceError):
    """A file import refused whole; ``details`` lists every bad row and field."""

    code = "import_rejected"
