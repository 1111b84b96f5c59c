"""The delivery app: implementation (项目实施), spending, co-funding and evaluation (项目评价)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeliveryConfig(AppConfig):
    name = "civicbudget.delivery"
    label = "delivery"
    verbose_name = _("Implementation and evaluation")

    def ready(self) -> None:
        # Opens an implementation for every selected project when an "implement" stage starts.
        from civicbudget.delivery import hooks  # noqa: F401
