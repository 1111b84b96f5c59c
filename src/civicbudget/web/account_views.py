"""The staff account pages: the second factor (code and enrolment) and API tokens.

After the password, a user who must verify is sent here by ``accounts.middleware``: the
code page when a confirmed TOTP device exists, otherwise enrolment (an SVG QR code and the
``otpauth://`` text, no script, so the page works under the site's CSP).
"""

from __future__ import annotations

import unicodedata
from io import BytesIO
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice

from civicbudget.accounts.models import ApiToken
from civicbudget.accounts.permissions import is_staff_member
from civicbudget.accounts.security import has_confirmed_device, two_factor_required
from civicbudget.accounts.tokens import SCOPES, token_create, token_revoke
from civicbudget.audit.services import audit_record
from civicbudget.errors import ServiceError


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return "/staff/"


def _code(request: HttpRequest) -> str:
    # Authenticator apps show "123 456"; full-width digits come from Chinese input methods.
    return "".join(unicodedata.normalize("NFKC", request.POST.get("code", "")).split())[:12]


def _qr_svg(uri: str) -> str:
    import qrcode
    import qrcode.image.svg

    buffer = BytesIO()
    qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8).save(buffer)
    svg = buffer.getvalue().decode()
    return svg[svg.index("<svg"):]  # drop the XML declaration: the SVG goes inline


@login_required
def otp_verify(request: HttpRequest) -> HttpResponse:
    """Ask for the current code of the user's authenticator after the password."""
    if not has_confirmed_device(request.user):
        return redirect(f"{reverse('web:staff-otp-enrol')}?{urlencode({'next': _next(request)})}")
    error = ""
    if request.method == "POST":
        device = match_token(request.user, _code(request))
        if device is not None:
            otp_login(request, device)
            return redirect(_next(request))
        audit_record(request.user, "otp_failed", request.user, outcome="denied",
                     message="Wrong or reused two-factor code.")
        error = _("That code is not right (or was already used). Enter the current code.")
    return render(request, "web/staff/otp_verify.html", {"error": error, "next": _next(request)},
                  status=400 if error else 200)


@login_required
def otp_enrol(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: scan, then confirm with one code."""
    user = request.user
    if has_confirmed_device(user) and not user.is_verified():
        return redirect(f"{reverse('web:staff-otp-verify')}?{urlencode({'next': _next(request)})}")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)
    error = ""
    if request.method == "POST":
        if device.verify_token(_code(request)):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            # One authenticator per account: older ones stop working once a new one is confirmed.
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            otp_login(request, device)
            audit_record(user, "otp_enrol", user, message="Two-factor sign-in set up.")
            messages.success(request, _("Two-factor sign-in is set up."))
            return redirect(_next(request))
        error = _("That code is not right: scan again and enter the current code.")
    return render(request, "web/staff/otp_enrol.html", {
        "error": error, "next": _next(request), "svg": _qr_svg(device.config_url),
        "uri": device.config_url, "required": two_factor_required(user),
    }, status=400 if error else 200)


@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    """List, create and revoke the user's API tokens; a new token is shown once."""
    if not (is_staff_member(request.user) or request.user.is_superuser):
        audit_record(request.user, "staff_page", None, outcome="denied", message=request.path[:200])
        return HttpResponseForbidden(_("This page is for staff with a role."))
    created = None
    if request.method == "POST":
        try:
            days = int(request.POST.get("days") or 90)
        except ValueError:
            days = 0
        try:
            _token, created = token_create(
                actor=request.user, owner=request.user, name=request.POST.get("name", ""),
                scopes=request.POST.getlist("scopes"), days=days)
        except ServiceError as exc:
            messages.error(request, exc.message)
    tokens = ApiToken.objects.filter(owner=request.user)
    response = render(request, "web/staff/api_tokens.html", {
        "tokens": tokens, "scopes": SCOPES.items(), "created": created,
    })
    if created:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, owner=request.user)
    token_revoke(actor=request.user, token=token)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("web:staff-api-tokens")
