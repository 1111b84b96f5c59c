"""Request middleware of the public site and back-office."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.utils.datastructures import MultiValueDictKeyError
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found

logger = logging.getLogger(__name__)


def _from_a_field_lookup(exception: Exception) -> bool:
    """True when the ORM refused a value for a field (``pk="abc"`` from a form): the innermost
    frame is a field's ``get_prep_value``/``to_python``. Judged by where it was raised, not by
    the message, so a ValueError of our own code still surfaces as the bug it is."""
    tb = exception.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return False
    code = last.tb_frame.f_code
    return (code.co_name in ("get_prep_value", "to_python")
            and "django/db/models/fields" in code.co_filename.replace("\\", "/"))


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
            if request.path.startswith("/api/"):
                return None  # the API's own handler answers out_of_range
            return page_not_found(request, Http404())
        # A form field the view expected is missing, or holds no number where an id belongs:
        # the request is bad, not the server (answered by civicbudget.web.errors.bad_request).
        if isinstance(exception, MultiValueDictKeyError) or (
                isinstance(exception, ValueError | TypeError) and _from_a_field_lookup(exception)):
            from civicbudget.web.errors import bad_request

            logger.warning("bad request to %s: %s", request.path[:200], type(exception).__name__)
            return bad_request(request, BadRequest(_("A field of the form is missing or is not a number.")))
        return None


class PermissionDeniedMiddleware:
    """A refusal raised by a service (role, place or stage) is a 403 with its reason, never a
    500 and never a redirect that looks like success. The service has audited it already.

    A page answers with ``web/403.html``: the reason, the user's roles and a way back to the
    back-office. Views that answer ``HttpResponseForbidden(reason)`` themselves get the same
    page here, so no officer meets a bare line of text. The API keeps its own JSON errors.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        response = self.get_response(request)
        if (response.status_code == 403 and not request.path.startswith("/api/")
                and not getattr(response, "streaming", False)
                and response.get("Content-Type", "").startswith("text/html")
                and not response.content.lstrip().startswith(b"<")):
            return forbidden_page(request, response.content.decode("utf-8", "replace"))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception):
        from civicbudget.errors import PermissionDenied

        if isinstance(exception, PermissionDenied):
            if request.path.startswith("/api/"):
                return HttpResponseForbidden(exception.message, content_type="text/plain; charset=utf-8")
            return forbidden_page(request, exception.message)
        return None


def forbidden_page(request: HttpRequest, message: str) -> HttpResponse:
    """The 403 page: why (``message``), the user's roles, and where to go instead."""
    from django.template.loader import render_to_string

    html = render_to_string("web/403.html", {"message": message.strip()[:300]}, request=request)
    return HttpResponse(html, status=403)


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
