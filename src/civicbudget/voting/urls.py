"""URLs of voting pages."""

from django.urls import path

from civicbudget.voting import views

app_name = "voting"
urlpatterns = [
    path("cycles/<int:cycle_id>/vote/", views.vote_start, name="start"),
    path("cycles/<int:cycle_id>/vote/verify/", views.vote_verify, name="verify"),
    path("cycles/<int:cycle_id>/vote/ballot/", views.vote_ballot, name="ballot"),
    path("cycles/<int:cycle_id>/receipts/", views.receipt_page, name="receipt-lookup"),
    path("cycles/<int:cycle_id>/receipts/<str:receipt>/", views.receipt_page, name="receipt"),
    path("cycles/<int:cycle_id>/results/", views.results_page, name="results"),
    path("cycles/<int:cycle_id>/ledger.zip", views.ledger_download, name="ledger-download"),
    path("staff/cycles/<int:cycle_id>/polling/", views.polling, name="polling"),
    path("staff/cycles/<int:cycle_id>/phones/", views.phone_watch, name="phones"),
    path("staff/cycles/<int:cycle_id>/polling/do/", views.polling_action, name="polling-action"),
]
