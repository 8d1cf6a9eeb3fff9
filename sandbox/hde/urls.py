"""Mounted at /sandbox/hde/: the API under <account>/api/v2/ and the agent pages.

The ticket page has real HDE's address shape after the system's URL,
`/<lang>/ticket/list/filter/id/<list filter>/ticket/<id>/` (see
extension/README.md), so the browser extension's one ticket-page pattern
matches the emulator and real HDE alike. The older `tickets/<id>/` address
redirects there.
"""

from django.urls import path, re_path

from sandbox.hde import api, pages

app_name = "sandbox_hde"

urlpatterns = [
    path("<slug:account>/api/v2/<path:rest>", api.endpoint, name="api"),
    path("<slug:account>/_behaviour", api.behaviour, name="behaviour"),
    path("<slug:account>/tickets/", pages.ticket_list, name="tickets"),
    path("<slug:account>/tickets/new/", pages.ticket_new, name="ticket_new"),
    path("<slug:account>/tickets/<int:ticket_id>/", pages.ticket_moved, name="ticket_moved"),
    re_path(r"^(?P<account>[-a-zA-Z0-9_]+)/(?P<lang>[a-z]{2})/ticket/list/filter/id/"
            r"(?P<filter_id>[0-9]+)/ticket/(?P<ticket_id>[0-9]+)/$",
            pages.ticket_page, name="ticket"),
]
