"""The opt-out page: a GET shows the button (link previews must not unsubscribe), a POST stops."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from civicbudget.notifications import services
from civicbudget.notifications.models import Subscription


def opt_out(request: HttpRequest, token: str) -> HttpResponse:
    subscription = Subscription.objects.select_related("cycle").filter(token=token[:24]).first()
    if subscription is None:
        raise Http404
    stopped = subscription.opted_out_at is not None
    if request.method == "POST":
        services.subscription_opt_out(token=token)
        stopped = True
    return render(request, "notifications/opt_out.html", {"cycle": subscription.cycle, "stopped": stopped})
