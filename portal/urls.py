"""Root URLs. The emulators are mounted only when SANDBOX_ENABLED."""

from django.conf import settings
from django.contrib import admin
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path


def favicon(request):
    """Browsers ask `/favicon.ico` of pages that name no icon (the JSON API,
    a file download): the portal's icon, not a 404 in the logs."""
    return HttpResponsePermanentRedirect(static("console/favicon.ico"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("integration.urls")),
]
if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))
