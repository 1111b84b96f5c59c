"""URLs of the deliberation pages (public and staff)."""

from django.urls import path

from civicbudget.deliberation import views

app_name = "deliberation"
urlpatterns = [
    path("cycles/<int:cycle_id>/deliberation/", views.public_page, name="public"),
    path("ballots/<int:ballot_id>/", views.ballot_page, name="ballot"),
    path("staff/cycles/<int:cycle_id>/deliberation/", views.staff_page, name="staff"),
    path("staff/cycles/<int:cycle_id>/deliberation/do/", views.staff_cycle_action, name="staff-action"),
    path("staff/cycles/<int:cycle_id>/roundtables/", views.staff_roundtable, name="staff-roundtable"),
    path("staff/cycles/<int:cycle_id>/reviews/", views.staff_reviews, name="staff-reviews"),
    path("staff/cycles/<int:cycle_id>/bodies/", views.staff_bodies, name="staff-bodies"),
    path("staff/deliberation/projects/<int:project_id>/", views.staff_project, name="staff-project"),
    path("staff/deliberation/projects/<int:project_id>/do/", views.staff_project_action,
         name="staff-project-action"),
]
