"""Request middleware of the public site and back-office."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponseForbidden
from django.views.defaults import page_not_found


class OutOfRangeIdMiddleware:
    """An id in a URL beyond what the database can store (``/projects/99999999999999999999/``)
    names nothing: answer 404. SQLite's driver raises OverflowError for such a number where a
    foreign-key lookup passes it through; PostgreSQL simply finds no row."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, OverflowError):
            return page_not_found(request, Http404())
        return None


class PermissionDeniedMiddleware:
    """A refusal raised by a service (role, place or stage) is a 403 with its reason, never a
    500 and never a redirect that looks like success. The service has audited it already."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        from civicbudget.errors import PermissionDenied

        if isinstance(exception, PermissionDenied):
            return HttpResponseForbidden(exception.message, content_type="text/plain; charset=utf-8")
        return None


class ContentSecurityPolicyMiddleware:
    """Send ``settings.CONTENT_SECURITY_POLICY`` with every response that has none yet."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", "")

    def __call__(self, request: HttpRequest):
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response
