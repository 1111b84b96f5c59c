"""The 400 answer of every page and of the API: HTML for pages, the API's JSON error format
under ``/api/``, including a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (413)."""

from __future__ import annotations

from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    status, code = 400, "bad_request"
    if isinstance(exception, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        status, code = 413, "too_large"
        message = _("The request is too large: send less data or a file upload.")
    elif isinstance(exception, BadRequest) and exception.args:
        message = str(exception.args[0])[:300]  # our own messages (civicbudget.params)
    else:
        message = _("The request is malformed.")
    if request.path.startswith("/api/"):
        return JsonResponse({"code": code, "message": message}, status=status)
    html = render_to_string("web/400.html", {"message": message}, request=request)
    return HttpResponse(html, status=status)
