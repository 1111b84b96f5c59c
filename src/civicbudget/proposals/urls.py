"""URLs of proposal pages (public and staff)."""

from django.urls import path

from civicbudget.proposals import views

app_name = "proposals"
urlpatterns = [
    path("cycles/<int:cycle_id>/propose/", views.propose, name="propose"),
    path("cycles/<int:cycle_id>/projects/", views.project_list, name="projects"),
    path("projects/<int:project_id>/", views.project_page, name="project"),
    path("track/", views.track_lookup, name="track-lookup"),
    path("track/<str:code>/", views.track, name="track"),
    path("staff/cycles/<int:cycle_id>/entry/", views.quick_entry, name="staff-entry"),
    path("staff/cycles/<int:cycle_id>/import/", views.import_page, name="staff-import"),
    path("staff/cycles/<int:cycle_id>/workbench/", views.workbench, name="staff-workbench"),
    path("staff/cycles/<int:cycle_id>/workbench/do/", views.workbench_action,
         name="staff-workbench-action"),
]
