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

CHART_WIDTH, PANEL_HEIGHT = 760, 140
LEFT, BOTTOM, TOP = 44, 22, 22
EVENTS_COLOUR, CALLS_COLOUR, FAILED_COLOUR = "#2b6cb0", "#8c959f", "#cf222e"
MUTED = "#57606a"


def activity_svg(activity: health.Activity) -> str:
    """Two panels over the same hours, each on its own scale: events per
    hour, then API calls per hour with the failed part in red. On one shared
    scale the events (tens an hour) hid under the calls (hundreds)."""
    buckets = activity.buckets
    today = timezone.localdate(buckets[-1].start) if buckets else None
    hours = [_hour(bucket, today) for bucket in buckets]
    events = _panel(buckets, hours, gettext("Events per hour"), [
        ("events", [b.events for b in buckets], EVENTS_COLOUR)])
    calls = _panel(buckets, hours, gettext("API calls per hour (failed in red)"), [
        ("calls", [b.api_calls for b in buckets], CALLS_COLOUR),
        ("failed", [b.failed_calls for b in buckets], FAILED_COLOUR)])
    return format_html("{}{}", events, calls)


def _hour(bucket, today) -> tuple[str, str, str]:
    """(label, key, tooltip) of an hour's bars. The 24-hour window holds
    the same clock hour twice (yesterday's, partial, and today's): the key
    carries the day, and a bar from an earlier day names its day in the
    tooltip, in the console's own date form (not Django's "11/30/2026")."""
    local = timezone.localtime(bucket.start)
    label = local.strftime("%H:%M")
    when = label if local.date() == today else shop_datetime(
        local, timezone.get_current_timezone_name())
    tip = gettext("%(hour)s: %(events)s, %(calls)s (%(failed)s)") % {
        "hour": when,
        "events": ngettext("%(n)d event", "%(n)d events", bucket.events) % {
            "n": bucket.events},
        "calls": ngettext("%(n)d API call", "%(n)d API calls", bucket.api_calls) % {
            "n": bucket.api_calls},
        "failed": ngettext("%(n)d failed", "%(n)d failed", bucket.failed_calls) % {
            "n": bucket.failed_calls}}
    return label, local.strftime("%Y-%m-%dT%H:%M"), tip


def _panel(buckets, hours, title: str, series) -> str:
    """One panel: bars per hour on the panel's own scale (its peak, half of
    it and 0 on the axis), its title on top, the hours below. A second
    series is drawn over the first, from the same baseline (the failed part
    of the calls)."""
    plot_h = PANEL_HEIGHT - BOTTOM - TOP
    slot = (CHART_WIDTH - LEFT) / max(1, len(buckets))
    bar = max(2.0, slot - 3)
    peak = max([1, *series[0][1]])
    base = TOP + plot_h
    parts = []
    for index, (label, key, tip) in enumerate(hours):
        x = LEFT + index * slot + 1
        for kind, values, colour in series:
            value = values[index]
            if kind != series[0][0] and not value:
                continue
            h = round(plot_h * value / peak, 1)
            parts.append(format_html(
                '<rect class="bar-{}" data-hour="{}" data-value="{}" x="{}" y="{}" width="{}" '
                'height="{}" fill="{}"><title>{}</title></rect>',
                kind, key, value, round(x, 1), round(base - h, 1), round(bar, 1), h, colour,
                tip))
        if index % 3 == 0:
            parts.append(format_html(
                '<text x="{}" y="{}" font-size="10" fill="{}">{}</text>',
                round(x, 1), PANEL_HEIGHT - 6, MUTED, label))
    half = f'<text x="2" y="{round(base - plot_h / 2 + 4, 1)}" font-size="10" fill="{MUTED}">' \
        f"{peak // 2}</text>" if peak >= 4 else ""
    axis = format_html(
        '<text x="{l}" y="12" font-size="11" font-weight="600" fill="#24292f">{title}</text>'
        '<line x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="#d0d7de"/>'
        '<line x1="{l}" y1="{t}" x2="{r}" y2="{t}" stroke="#eaeef2"/>'
        '<text x="2" y="{tt}" font-size="10" fill="{m}">{peak}</text>{half}'
        '<text x="2" y="{b}" font-size="10" fill="{m}">0</text>',
        l=LEFT, r=CHART_WIDTH, b=base, t=TOP, tt=TOP + 4, peak=peak, title=title, m=MUTED,
        half=mark_safe(half))  # noqa: S308 - numbers and a constant colour only
    return format_html(
        '<svg class="console-chart" xmlns="http://www.w3.org/2000/svg" role="img" '
        'viewBox="0 0 {w} {h}" width="{w}" height="{h}" aria-label="{label}">{axis}{bars}</svg>',
        w=CHART_WIDTH, h=PANEL_HEIGHT, label=title, axis=axis,
        bars=mark_safe("".join(parts)))  # noqa: S308 - every part is format_html


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
