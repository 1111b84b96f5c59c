"""URLs of the progress pages and the delivery desk."""

from django.urls import path

from civicbudget.delivery import views

app_name = "delivery"
urlpatterns = [
    path("cycles/<int:cycle_id>/progress/", views.cycle_progress_page, name="cycle"),
    path("projects/<int:project_id>/progress/", views.project_progress_page, name="project"),
    path("progress-photos/<int:update_id>/", views.progress_photo, name="photo"),
    path("staff/cycles/<int:cycle_id>/delivery/", views.delivery_desk, name="desk"),
    path("staff/cycles/<int:cycle_id>/delivery/do/", views.delivery_desk_action, name="desk-action"),
]
