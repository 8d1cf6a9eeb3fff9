"""Plain Django views that are not part of the API or the admin."""

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from integration.ops import metrics as portal_metrics


@require_GET
def healthz(request):
    """Liveness for load balancers: the process answers and the DB is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})


@require_GET
def metrics(request):
    """Prometheus scrape. Not public: the scraper is checked first, from the
    settings and headers alone, before any metric or database row is read
    (integration.ops.metrics.scrape_refusal)."""
    refusal = portal_metrics.scrape_refusal(request)
    if refusal == 404:
        return HttpResponse(_("Not found."), status=404, content_type="text/plain")
    if refusal == 403:
        return HttpResponse(_("This address may not read the metrics."), status=403,
                            content_type="text/plain")
    if refusal == 401:
        response = HttpResponse(_("The metrics need the scraper's bearer token."), status=401,
                                content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(portal_metrics.exposition(), content_type=portal_metrics.CONTENT_TYPE)
