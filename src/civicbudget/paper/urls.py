"""URLs of the paper sheet pages."""

from django.urls import path

from civicbudget.paper import views

app_name = "paper"
urlpatterns = [
    path("staff/cycles/<int:cycle_id>/paper/", views.queue, name="queue"),
    path("staff/cycles/<int:cycle_id>/paper/do/", views.action, name="action"),
]
