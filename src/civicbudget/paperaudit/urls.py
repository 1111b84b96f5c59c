"""URLs of the paper-count audit."""

from django.urls import path

from civicbudget.paperaudit import views

app_name = "paperaudit"
urlpatterns = [
    path("cycles/<int:cycle_id>/audit.json", views.public_json, name="json"),
    path("staff/cycles/<int:cycle_id>/paper-audit/", views.desk, name="desk"),
    path("staff/cycles/<int:cycle_id>/paper-audit/do/", views.action, name="action"),
]
