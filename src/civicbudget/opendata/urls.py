"""URLs of the open-data downloads and the statistics dashboard."""

from django.urls import path

from civicbudget.opendata import views

app_name = "opendata"
urlpatterns = [
    path("cycles/<int:cycle_id>/open-data/", views.open_data, name="index"),
    path("cycles/<int:cycle_id>/open-data/<str:name>.<str:fmt>", views.table_download, name="table"),
    path("cycles/<int:cycle_id>/open-data/ballots/<int:scope_id>.pb", views.ballot_download, name="ballot"),
    path("districts/<int:district_id>/statistics/", views.dashboard, name="dashboard"),
]
