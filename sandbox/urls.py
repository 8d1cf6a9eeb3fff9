"""Emulator URLs, mounted under /sandbox/ when SANDBOX_ENABLED."""

from django.urls import include, path

from sandbox import views

urlpatterns = [
    path("", views.index, name="sandbox-index"),
    path("retailcrm/", include("sandbox.retailcrm.urls")),
    path("hde/", include("sandbox.hde.urls")),
]
