from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from integration.console.home import home_view
from integration.inbox import views as hooks
from integration.ops import views
from integration.tenancy import views as tenancy_views
from integration.widget import views as widget_views

# The admin's look for Django's own set-password pages (invitation links).
_ADMIN_CHROME = {"site_header": admin.site.site_header, "site_title": admin.site.site_title}

urlpatterns = [
    path("", home_view, name="portal-home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
    path("api/v1/", include("integration.api.urls")),
    path("", include("integration.extension.urls")),
    path("widget/<uuid:public_id>/<str:token>/", widget_views.widget_page, name="widget-page"),
    path("hooks/hde/<uuid:public_id>/", hooks.hde_webhook, name="hook-hde"),
    path("hooks/retailcrm/<uuid:public_id>/", hooks.retailcrm_trigger, name="hook-retailcrm"),
    # Invitation links (integration.tenancy.invitations) land here: the
    # invited person accepts, logged in, or chooses a new account's password.
    path("accounts/invitation/<str:token>/", tenancy_views.invitation_accept_view,
         name="invitation-accept"),
    # Set-password links of accounts invited before invitations had to be
    # accepted: Django's view checks the token, moves it out of the URL into
    # the session and lets the colleague choose a password.
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(extra_context=_ADMIN_CHROME),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(extra_context=_ADMIN_CHROME),
        name="password_reset_complete",
    ),
]
