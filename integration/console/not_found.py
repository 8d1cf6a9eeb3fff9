"""A console page that finds nothing answers like the console's object pages.

The admin's own object URLs answer for another agency's object, or a made-up
id, with the dashboard and "Not found: shop (perhaps it was deleted)."
(`UniformObjectAccessMixin`). The console's own views (the wizard's steps,
a shop's widget access, probe, test and first-webhook pages, an event's
replay) raise Http404 for the same case, which showed Django's error page:
with DEBUG on (the demo), the technical page listing every URL pattern. This
middleware gives those the same answer, so every console URL refuses alike,
says nothing of whose the object is, and never shows an error page to a
logged-in user. Requests made by the page's own script (fetch, htmx) keep the
404: a redirect would land inside the page.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext


class ConsoleNotFoundMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, Http404):
            return None
        user = getattr(request, "user", None)
        if not (user is not None and user.is_authenticated and user.is_staff):
            return None
        if not request.path.startswith(reverse("admin:index")):
            return None
        if request.headers.get("X-Requested-With") == "fetch" or request.headers.get(
                "HX-Request"):
            return None
        messages.warning(request, gettext("Not found (perhaps it was deleted)."))
        return redirect("admin:index")
