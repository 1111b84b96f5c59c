"""The open-data app: exports (四公开) and the year-over-year statistics dashboard. No models."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpendataConfig(AppConfig):
    name = "civicbudget.opendata"
    label = "opendata"
    verbose_name = _("Open data and statistics")
