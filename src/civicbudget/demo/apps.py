from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "civicbudget.demo"
    verbose_name = "Demo"
