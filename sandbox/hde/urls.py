"""Mounted at /sandbox/hde/: the API under <account>/api/v2/ and the agent pages."""

from django.urls import path

from sandbox.hde import api, pages

app_name = "sandbox_hde"

urlpatterns = [
    path("<slug:account>/api/v2/<path:rest>", api.endpoint, name="api"),
    path("<slug:account>/_behaviour", api.behaviour, name="behaviour"),
    path("<slug:account>/tickets/", pages.ticket_list, name="tickets"),
    path("<slug:account>/tickets/new/", pages.ticket_new, name="ticket_new"),
    path("<slug:account>/tickets/<int:ticket_id>/", pages.ticket_page, name="ticket"),
]
