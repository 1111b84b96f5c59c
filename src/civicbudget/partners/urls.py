"""URLs of the organisations' pages, their desk and the staff pages."""

from django.urls import path

from civicbudget.partners import views

app_name = "partners"
urlpatterns = [
    path("districts/<int:district_id>/organisations/", views.organisation_list, name="list"),
    path("districts/<int:district_id>/organisations/register/", views.register, name="register"),
    path("organisations/<int:organisation_id>/", views.organisation_page, name="organisation"),
    path("organisations/desk/", views.desk, name="desk"),
    path("organisations/desk/do/", views.desk_action, name="desk-action"),
    path("staff/districts/<int:district_id>/organisations/", views.staff_organisations, name="staff"),
    path("staff/cycles/<int:cycle_id>/orders/", views.staff_orders, name="staff-orders"),
]
