"""URLs of the publication page and the reply desk."""

from django.urls import path

from civicbudget.results import views

app_name = "results"
urlpatterns = [
    path("cycles/<int:cycle_id>/publication/", views.publication_page, name="publication"),
    path("staff/cycles/<int:cycle_id>/replies/", views.reply_desk, name="desk"),
    path("staff/cycles/<int:cycle_id>/replies/do/", views.reply_desk_action, name="desk-action"),
]
