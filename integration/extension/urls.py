"""Mounted at the site root by `integration.urls`."""

from django.urls import path

from integration.extension import api, views

urlpatterns = [
    path("api/v1/extension/config", api.ConfigApi.as_view(), name="api-extension-config"),
    path("api/v1/extension/widget-url", api.WidgetUrlApi.as_view(),
         name="api-extension-widget-url"),
    path("extension/", views.install_page, name="extension-install"),
    path("extension/updates.xml", views.update_manifest, name="extension-updates"),
    path("extension/<str:name>", views.download, name="extension-download"),
]
