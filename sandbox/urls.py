"""Emulator URLs, mounted under /sandbox/ when SANDBOX_ENABLED."""

from django.urls import include, path

urlpatterns = [
    path("retailcrm/", include("sandbox.retailcrm.urls")),
    path("hde/", include("sandbox.hde.urls")),
]
