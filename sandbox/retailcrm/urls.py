"""Mounted at /sandbox/retailcrm/ (only when SANDBOX_ENABLED): an account URL
`/sandbox/retailcrm/<code>` stands for `https://<code>.retailcrm.ru`."""

from django.urls import path

from sandbox.retailcrm import views

urlpatterns = [
    path("<slug:account>/api/<path:path>", views.api, name="sandbox-retailcrm-api"),
    path("<slug:account>/_faults", views.faults, name="sandbox-retailcrm-faults"),
    path("<slug:account>/_behaviour", views.behaviour, name="sandbox-retailcrm-behaviour"),
    path("<slug:account>/_triggers", views.triggers, name="sandbox-retailcrm-triggers"),
    path("<slug:account>/_triggers/<int:trigger_id>/fire", views.trigger_fire,
         name="sandbox-retailcrm-trigger-fire"),
]
