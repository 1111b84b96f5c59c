from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaperConfig(AppConfig):
    name = "civicbudget.paper"
    verbose_name = _("Paper ballot sheets")
