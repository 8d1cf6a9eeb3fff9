"""The portal's front page, `/`: the admin's "View site" lands here.

Why a page of its own: Django's default "View site" points at `/`, which
answered 404. This says in two lines what the portal is and sends each
reader where they belong: agencies to the console, operators to the
browser extension, developers to the widget API. It reads no data, so it
is the same for everyone, signed in or not.
"""

from django.contrib import admin
from django.template.response import TemplateResponse
from django.views.decorators.http import require_safe


@require_safe
def home_view(request):
    return TemplateResponse(request, "console/home.html", {
        **admin.site.each_context(request), "title": admin.site.site_header,
    })
