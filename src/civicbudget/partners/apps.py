"""The partners app: organisations register, officers approve them, winners are offered for orders."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PartnersConfig(AppConfig):
    name = "civicbudget.partners"
    label = "partners"
    verbose_name = _("Social organisations")
