"""URL map: public pages, the staff back-office, the JSON API and language switching."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from civicbudget.api.endpoints import api
from civicbudget.web import account_views, views
from civicbudget.web.favicon import favicon
from civicbudget.web.health import healthz

web_patterns = [
    path("", views.home, name="home"),
    path("districts/<int:district_id>/", views.district_home, name="district"),
    path("cycles/<int:cycle_id>/", views.cycle_page, name="cycle"),
    path("staff/login/", auth_views.LoginView.as_view(template_name="web/staff/login.html"),
         name="staff-login"),
    path("staff/logout/", auth_views.LogoutView.as_view(), name="staff-logout"),
    path("staff/two-factor/", account_views.otp_verify, name="staff-otp-verify"),
    path("staff/two-factor/enrol/", account_views.otp_enrol, name="staff-otp-enrol"),
    path("staff/api-tokens/", account_views.api_tokens, name="staff-api-tokens"),
    path("staff/api-tokens/<int:token_id>/revoke/", account_views.api_token_revoke,
         name="staff-api-token-revoke"),
    path("staff/", views.staff_home, name="staff-home"),
    path("staff/audit/", views.staff_audit, name="staff-audit"),
    path("staff/districts/<int:district_id>/places/", views.staff_places, name="staff-places"),
    path("staff/districts/<int:district_id>/cycles/new/", views.staff_cycle_new,
         name="staff-cycle-new"),
    path("staff/cycles/<int:cycle_id>/", views.staff_cycle, name="staff-cycle"),
    path("staff/cycles/<int:cycle_id>/participants/", views.staff_cycle_participants,
         name="staff-cycle-participants"),
    path("staff/cycles/<int:cycle_id>/pools/", views.staff_cycle_pool, name="staff-cycle-pool"),
    path("staff/cycles/<int:cycle_id>/advance/", views.staff_cycle_advance,
         name="staff-cycle-advance"),
    path("staff/cycles/<int:cycle_id>/electorate/", views.staff_cycle_electorate,
         name="staff-cycle-electorate"),
    path("staff/cycles/<int:cycle_id>/group-members/", views.staff_cycle_members,
         name="staff-cycle-members"),
]

handler400 = "civicbudget.web.errors.bad_request"

urlpatterns = [
    path("", include((web_patterns, "web"))),
    path("", include("civicbudget.proposals.urls")),
    path("", include("civicbudget.paper.urls")),
    path("", include("civicbudget.deliberation.urls")),
    path("", include("civicbudget.voting.urls")),
    path("", include("civicbudget.results.urls")),
    path("", include("civicbudget.delivery.urls")),
    path("", include("civicbudget.partners.urls")),
    path("", include("civicbudget.opendata.urls")),
    path("", include("civicbudget.paperaudit.urls")),
    path("", include("civicbudget.outreach.urls")),
    path("", include("civicbudget.notifications.urls")),
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon, name="favicon"),
]
