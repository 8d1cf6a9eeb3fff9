"""The agency dashboard (health at a glance) and the console's admin URLs.

The chart is inline SVG built here on the server: no JavaScript chart
library, nothing fetched at runtime, and the numbers are in the HTML where a
test (or a screen reader, through <title>) can read them.
"""

import uuid

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext

from integration.console.time_zone import zone_caption
from integration.core.formatting import shop_datetime
from integration.models import AlertState, Shop
from integration.onboarding.checklist import REVIEW_KINDS, shop_review_mark, shops_checklists
from integration.onboarding.wizard import editable_agencies
from integration.ops import health
from integration.tenancy.access import (
    can_edit_agency_data,
    get_shop_for_user_or_404,
    shops_for_user,
)
from integration.tenancy.time_zones import zone_or_none

CHART_WIDTH, CHART_HEIGHT = 760, 200
LEFT, BOTTOM, TOP = 44, 22, 10
EVENTS_COLOUR, CALLS_COLOUR, FAILED_COLOUR = "#2b6cb0", "#8c959f", "#cf222e"


def activity_svg(activity: health.Activity) -> str:
    """Grouped bars per hour: events, API calls (failed part in red)."""
    plot_h = CHART_HEIGHT - BOTTOM - TOP
    slot = (CHART_WIDTH - LEFT) / max(1, len(activity.buckets))
    bar = max(2.0, slot / 2 - 2)
    peak = activity.peak

    def height(value):
        return round(plot_h * value / peak, 1)

    parts = []
    today = (timezone.localdate(activity.buckets[-1].start) if activity.buckets else None)
    for index, bucket in enumerate(activity.buckets):
        x = LEFT + index * slot + 1
        local = timezone.localtime(bucket.start)
        hour = local.strftime("%H:%M")
        # The 24-hour window holds the same clock hour twice (yesterday's,
        # partial, and today's): the bar's key carries the day, and a bar
        # from an earlier day says which day in its tooltip.
        key = local.strftime("%Y-%m-%dT%H:%M")
        when = hour
        if local.date() != today:  # the console's own date form, not Django's "11/30/2026"
            when = shop_datetime(local, timezone.get_current_timezone_name())
        tip = gettext("%(hour)s: %(events)s, %(calls)s (%(failed)s)") % {
            "hour": when,
            "events": ngettext("%(n)d event", "%(n)d events", bucket.events) % {
                "n": bucket.events},
            "calls": ngettext("%(n)d API call", "%(n)d API calls", bucket.api_calls) % {
                "n": bucket.api_calls},
            "failed": ngettext("%(n)d failed", "%(n)d failed", bucket.failed_calls) % {
                "n": bucket.failed_calls}}
        for kind, value, colour, offset in (("events", bucket.events, EVENTS_COLOUR, 0),
                                            ("calls", bucket.api_calls, CALLS_COLOUR, bar)):
            h = height(value)
            parts.append(format_html(
                '<rect class="bar-{}" data-hour="{}" data-value="{}" x="{}" y="{}" width="{}" '
                'height="{}" fill="{}"><title>{}</title></rect>',
                kind, key, value, round(x + offset, 1), round(TOP + plot_h - h, 1),
                round(bar, 1), h, colour, tip))
        if bucket.failed_calls:
            h = height(bucket.failed_calls)
            parts.append(format_html(
                '<rect class="bar-failed" data-hour="{}" data-value="{}" x="{}" y="{}" '
                'width="{}" height="{}" fill="{}"><title>{}</title></rect>',
                key, bucket.failed_calls, round(x + bar, 1), round(TOP + plot_h - h, 1),
                round(bar, 1), h, FAILED_COLOUR, tip))
        if index % 3 == 0:
            parts.append(format_html(
                '<text x="{}" y="{}" font-size="10" fill="#57606a">{}</text>',
                round(x, 1), CHART_HEIGHT - 6, hour))
    axis = format_html(
        '<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#d0d7de"/>'
        '<text x="2" y="{t}" font-size="10" fill="#57606a">{peak}</text>'
        '<text x="2" y="{b}" font-size="10" fill="#57606a">0</text>',
        l=LEFT, r=CHART_WIDTH, b=TOP + plot_h, t=TOP + 8, peak=peak)
    return format_html(
        '<svg class="console-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        'viewBox="0 0 {w} {h}" width="{w}" height="{h}" aria-label="{label}">{axis}{bars}</svg>',
        w=CHART_WIDTH, h=CHART_HEIGHT, label=gettext("Events and API calls per hour"),
        axis=axis, bars=mark_safe("".join(parts)))  # noqa: S308 - every part is format_html


def _changelist(model: str, **params) -> str:
    from urllib.parse import urlencode

    url = reverse(f"admin:integration_{model}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def dashboard_view(request):
    """Where everyone lands after logging in (it is also the admin's index):
    each shop's getting-started checklist, then one health row per visible
    shop; `?shop=<public_id>` narrows the chart."""
    shops = shops_for_user(request.user)
    chart_shop = None
    if request.GET.get("shop"):
        try:
            chart_shop = get_shop_for_user_or_404(request.user, uuid.UUID(request.GET["shop"]))
        except (ValueError, Http404):
            # As every console page answers for an object one may not see:
            # the same words whether it never existed or is another
            # agency's, and no error page.
            messages.warning(request, gettext("Not found: %(name)s (perhaps it was deleted).")
                             % {"name": Shop._meta.verbose_name})
            return redirect("admin:console-dashboard")
        if (zone := zone_or_none(chart_shop.timezone)) is not None:
            # The page is about that shop's chart: its zone for the whole
            # page (the chart's hours are that zone's clock hours; the
            # header agrees); the middleware restores the zone after.
            timezone.activate(zone)
    now = timezone.now()  # one instant for the rows, their links and the chart
    rows = health.shops_health(shops=shops, now=now)
    since = (now - health.WINDOW).isoformat()
    editable = {}  # agency id → may edit; one question per agency, not per row
    for row in rows:
        agency_id = row.shop.agency_id
        if agency_id not in editable:
            editable[agency_id] = can_edit_agency_data(request.user, agency_id)
    checklists = shops_checklists(shops=[row.shop for row in rows], editable=editable)
    for row in rows:
        pk = row.shop.pk
        row.links = {
            "shop": reverse("admin:integration_shop_change", args=[pk]),
            "events": _changelist("inboundevent", shop=pk),
            "backlog": _changelist("inboundevent", shop=pk, state__in="pending,processing"),
            "dead": _changelist("inboundevent", shop=pk, state="dead"),
            "calls": _changelist("apicall", shop=pk, created_at__gte=since),
            "chart": f"{reverse('admin:console-dashboard')}?shop={row.shop.public_id}",
            "wizard": reverse("admin:console-wizard-retailcrm", args=[row.shop.public_id]),
        }
        row.editable = editable[row.shop.agency_id]
        row.checklist = checklists[pk]
    chart_scope = shops.filter(pk=chart_shop.pk) if chart_shop else shops
    activity = health.hourly_activity(shops=chart_scope, now=now)
    # Hour labels in the charted shop's zone; for all shops, the console's
    # (their common zone, else the server's), named under the heading.
    chart, chart_zone = activity_svg(activity), zone_caption()
    return TemplateResponse(request, "admin/console/dashboard.html", {
        **admin.site.each_context(request),
        "title": gettext("Agency dashboard"),
        "is_index": request.resolver_match.url_name == "index",
        "rows": rows,
        "getting_started": [row.checklist for row in rows],
        "chart": chart,
        "chart_zone": chart_zone,
        "activity": activity,
        "chart_shop": chart_shop,
        "can_add": editable_agencies(request.user).exists(),
        "totals": {
            "events": sum(b.events for b in activity.buckets),
            "calls": sum(b.api_calls for b in activity.buckets),
            "failed": sum(b.failed_calls for b in activity.buckets),
        },
    })


def review_mark_view(request, public_id, kind):
    """"Mark as reviewed" on a shop's rules or templates list (POST by an
    owner or admin of the shop's agency); back to the dashboard, whose
    checklist now ticks the step."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if kind not in REVIEW_KINDS:
        raise Http404
    shop = get_shop_for_user_or_404(request.user, public_id)
    if not can_edit_agency_data(request.user, shop.agency_id):
        raise PermissionDenied
    shop_review_mark(shop=shop, kind=kind)
    done = {"rules": gettext("%(shop)s: priority rules marked as reviewed."),
            "templates": gettext("%(shop)s: reply templates marked as reviewed.")}
    messages.success(request, done[kind] % {"shop": shop.name})
    return redirect("admin:index")


def active_alerts(user):
    """Conditions holding now on the user's shops, for the admin banner."""
    if not user.is_authenticated:
        return []
    from integration.ops.alerts import alert_detail_words, alert_still_holds

    alerts = [alert for alert in AlertState.objects.for_user(user).filter(
        active_since__isnull=False, shop__active=True).select_related(
            "shop__retailcrm", "shop__helpdeskeddy").order_by("shop__name", "condition")
        if alert_still_holds(alert)]
    for alert in alerts:  # worded in the reader's language (the job stored facts)
        alert.words = alert_detail_words(alert.condition, alert.detail, zone=alert.shop.timezone)
    return alerts


def console_urls(site):
    from integration.onboarding import admin as wizard

    view = site.admin_view
    return [
        path("console/", view(dashboard_view), name="console-dashboard"),
        path("console/add-shop/", view(wizard.wizard_retailcrm), name="console-wizard-start"),
        path("console/add-shop/<uuid:public_id>/retailcrm/", view(wizard.wizard_retailcrm),
             name="console-wizard-retailcrm"),
        path("console/add-shop/<uuid:public_id>/hde/", view(wizard.wizard_hde),
             name="console-wizard-hde"),
        path("console/add-shop/<uuid:public_id>/priorities/", view(wizard.wizard_priorities),
             name="console-wizard-priorities"),
        path("console/add-shop/<uuid:public_id>/hooks/", view(wizard.wizard_hooks),
             name="console-wizard-hooks"),
        path("console/add-shop/<uuid:public_id>/check/", view(wizard.wizard_check),
             name="console-wizard-check"),
        path("console/add-shop/<uuid:public_id>/live/", view(wizard.wizard_live),
             name="console-wizard-live"),
        path("console/shops/<uuid:public_id>/first-webhook/",
             view(wizard.first_webhook_status), name="console-first-webhook"),
        path("console/shops/<uuid:public_id>/reviewed/<str:kind>/", view(review_mark_view),
             name="console-review-mark"),
    ]
