"""URLs of outreach: short links (public) and the publicity desk (staff)."""

from django.urls import path

from civicbudget.outreach import views

app_name = "outreach"
urlpatterns = [
    path("s/<str:code>", views.short_link, name="short"),
    path("staff/cycles/<int:cycle_id>/outreach/", views.desk, name="desk"),
    path("staff/cycles/<int:cycle_id>/outreach/kit.zip", views.kit_download, name="kit"),
]
