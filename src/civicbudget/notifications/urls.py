"""URL of the opt-out link every notification carries."""

from django.urls import path

from civicbudget.notifications import views

app_name = "notifications"
urlpatterns = [path("n/<str:token>/", views.opt_out, name="opt-out")]
