"""Sync logs: read-only, filterable, exportable, scoped to the user's shops.

Every screen here reads through the admin's scoped queryset
(TenantScopedAdminMixin.get_queryset), so the CSV export, the event detail
and the replay button can only reach rows of the user's own shops; another
tenant's event answers 404 like a missing one. Replaying changes state, so it
also needs an editing role in the event's agency.

A viewer reads the logs as records of what happened, without personal data
(integration.tenancy.access): e-mails and phones in paths, errors and
payloads are masked, ticket subjects are not shown, and the texts that
could hold them are not searchable.
"""

import re
from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import CharField, OuterRef, Q, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.http import Http404, HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from integration.console.mixins import ReadOnlyAdminMixin, TenantScopedAdminMixin
from integration.console.time_zone import shop_time
from integration.models import (
    ApiCall,
    EventState,
    EventType,
    HelpDeskEddyConnection,
    InboundEvent,
    RateLimitState,
    SideEffect,
    TicketRecord,
    WidgetRequest,
)
from integration.ops import log_export
from integration.tenancy.access import (
    can_edit_agency_data,
    can_read_personal_data,
    shops_editable_by,
    shops_for_user,
    shops_with_personal_data,
)
from integration.tickets.links import hde_ticket_url
from integration.vendors.errors import shown_text

REPLAYABLE = (EventState.DEAD, EventState.PARKED, EventState.IGNORED)
# The inbox's own prefix of a dead event's error: the list says it in words.
GAVE_UP = re.compile(r"^Gave up after \d+ attempts: ")
editable_shops = shops_editable_by


def masked_shop_ids(user) -> frozenset:
    """The user's shops whose personal data they may not read."""
    visible = set(shops_for_user(user).values_list("pk", flat=True))
    return frozenset(visible - set(shops_with_personal_data(user).values_list("pk", flat=True)))


class TimeRangeFilter(admin.SimpleListFilter):
    """Quick time windows; the date hierarchy above the list picks days."""

    title = _("time")
    parameter_name = "within"
    WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24),
               "7d": timedelta(days=7), "30d": timedelta(days=30)}

    def lookups(self, request, model_admin):
        return [("1h", _("Last hour")), ("24h", _("Last 24 hours")),
                ("7d", _("Last 7 days")), ("30d", _("Last 30 days"))]

    def queryset(self, request, queryset):
        window = self.WINDOWS.get(self.value())
        if window is None:
            return queryset
        return queryset.filter(created_at__gte=timezone.now() - window)


class CsvExportMixin:
    """`export/` under the changelist: the rows the user is looking at (same
    filters, search and date drill-down), streamed as CSV."""

    change_list_template = "admin/logs/change_list.html"
    csv_rows = None  # a function queryset -> iterator of CSV lines
    csv_name = "log"

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("export/", self.admin_site.admin_view(self.export_view),
                 name=f"{info[0]}_{info[1]}_export"),
            *self.extra_urls(),
            *super().get_urls(),
        ]

    def extra_urls(self):
        return []

    viewer_search_fields = ()  # what a viewer may search: no field with personal data

    def get_search_fields(self, request):
        if masked_shop_ids(request.user):
            return self.viewer_search_fields
        return super().get_search_fields(request)

    def changelist_view(self, request, extra_context=None):
        with log_export.secrets_memo(), \
                log_export.personal_data_masked(masked_shop_ids(request.user)):
            response = super().changelist_view(request, extra_context)
            if hasattr(response, "render"):
                response.render()  # list_display methods run while rendering
            return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        with log_export.secrets_memo(), \
                log_export.personal_data_masked(masked_shop_ids(request.user)):
            response = super().change_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render"):
                response.render()  # read-only field methods run while rendering
            return response

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        queryset = changelist.get_queryset(request)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response = StreamingHttpResponse(
            type(self).csv_rows(queryset, masked_shop_ids(request.user)),
            content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.csv_name}-{stamp}.csv"'
        return response


@admin.register(ApiCall)
class ApiCallAdmin(CsvExportMixin, ReadOnlyAdminMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    # Six columns fit a 1366 px screen beside the filters: provider, method
    # and path read as one request, the HTTP status and outcome as one answer.
    list_display = ("when", "shop", "request", "answer", "duration_ms", "event_link")
    list_filter = (("shop", admin.RelatedOnlyFieldListFilter), "provider", "outcome",
                   "status_code", "interactive", TimeRangeFilter)
    search_fields = ("path", "error")
    date_hierarchy = "created_at"
    list_select_related = ("shop", "event")
    fields = ("when", "shop", "provider", "method", "safe_path", "status_code", "outcome",
              "duration_ms", "rate_limit_remaining", "interactive", "request_id", "event_link",
              "error_excerpt")
    readonly_fields = fields
    csv_rows = log_export.api_calls_csv
    csv_name = "api-calls"

    @admin.display(description=_("time"), ordering="created_at")
    def when(self, obj):
        return shop_time(obj.created_at, obj.shop)

    @admin.display(description=_("request"))
    def request(self, obj):
        """"RetailCRM GET /api/v5/…", the path free to wrap after its
        slashes and separators (a long query never widens the table)."""
        path = conditional_escape(log_export.shop_excerpt(obj.path, obj.shop_id, 200))
        for mark in ("/", "?", "&amp;"):
            path = path.replace(mark, mark + "<wbr>")
        return format_html('{} {} <code class="log-path">{}</code>', obj.get_provider_display(),
                           obj.method, mark_safe(path))  # noqa: S308 - escaped above

    @admin.display(description=_("answer"), ordering="status_code")
    def answer(self, obj):
        if obj.status_code is None:
            return obj.get_outcome_display()
        return f"{obj.status_code} · {obj.get_outcome_display()}"

    def get_object(self, request, object_id, from_field=None):
        """The page title and breadcrumbs print str(call), which holds the
        path: redact the in-memory copy (read-only screen, never saved)."""
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj.path = log_export.shop_excerpt(
                obj.path, obj.shop_id, 500,
                masked=not can_read_personal_data(request.user, obj.shop.agency_id))
        return obj

    @admin.display(description=_("path"))
    def safe_path(self, obj):
        return log_export.shop_excerpt(obj.path, obj.shop_id)

    @admin.display(description=_("error (redacted)"))
    def error_excerpt(self, obj):
        text = log_export.shop_excerpt(shown_text(obj.error), obj.shop_id)
        return format_html("<pre class=\"log-excerpt\">{}</pre>", text) if text else "—"

    @admin.display(description=_("caused by event"))
    def event_link(self, obj):
        """A call made by a job links to its event (named by what happened),
        where the replay is."""
        if obj.event_id is None:
            return "—"
        url = reverse("admin:integration_inboundevent_change", args=[obj.event_id])
        what = obj.event.get_event_type_display() or obj.event.get_source_display()
        if obj.event.state in REPLAYABLE:
            return format_html('<a href="{}#replay">{} · {}</a>', url, what, _("replay"))
        return format_html('<a href="{}">{}</a>', url, what)


@admin.register(InboundEvent)
class InboundEventAdmin(CsvExportMixin, ReadOnlyAdminMixin, TenantScopedAdminMixin,
                        admin.ModelAdmin):
    list_display = ("when", "shop", "what_happened", "result")
    list_filter = (("shop", admin.RelatedOnlyFieldListFilter), "source", "state", "event_type",
                   TimeRangeFilter)
    search_fields = ("source_key", "last_error")
    date_hierarchy = "created_at"
    list_select_related = ("shop",)
    readonly_fields = ("when", "shop", "source", "event_type", "about", "outcome",
                       "next_attempt", "processed", "error_excerpt", "delivery_key")
    # What happened in words first; the de-duplication key (a machine's
    # string: "ticket_changed:1:…") folded away for whoever debugs a
    # duplicate.
    fieldsets = ((None, {"fields": readonly_fields[:-1]}),
                 (_("Advanced"), {"classes": ("collapse",), "fields": ("delivery_key",)}))
    change_form_template = "admin/logs/inboundevent_change_form.html"
    actions = ["replay"]
    csv_rows = log_export.inbound_events_csv
    csv_name = "inbound-events"

    # A delivery key carries whatever the vendor sent (a trigger's parameters
    # are what its admin typed: an e-mail, a phone): a viewer neither searches
    # nor reads it unmasked.
    viewer_search_fields = ()

    def get_queryset(self, request):
        """HDE's ticket number and the shop's HDE address for each row in the
        same query (the list shows and links them; a lookup per row would be a
        query per line; the connection's key is never loaded here)."""
        # Compared as text on both sides: a payload's id may be a number or
        # a string, and a cast to an integer would fail on a stray value.
        numbers = TicketRecord.objects.annotate(id_text=Cast("ticket_id", CharField())).filter(
            shop=OuterRef("shop"),
            id_text=Cast(KeyTextTransform("ticket_id", OuterRef("payload")), CharField()),
        ).values("unique_id")[:1]
        hde_url = HelpDeskEddyConnection.objects.filter(shop=OuterRef("shop")).values(
            "base_url")[:1]
        return super().get_queryset(request).annotate(ticket_number=Subquery(numbers),
                                                      hde_base_url=Subquery(hde_url))

    @admin.display(description=_("time"), ordering="created_at")
    def when(self, obj):
        return shop_time(obj.created_at, obj.shop)

    @admin.display(description=_("next attempt"))
    def next_attempt(self, obj):
        return shop_time(obj.next_attempt_at, obj.shop)

    @admin.display(description=_("processed"))
    def processed(self, obj):
        return shop_time(obj.processed_at, obj.shop)

    def _ticket_link(self, obj, ticket_id):
        """HDE's number for the ticket, linked to its page in HDE."""
        number = getattr(obj, "ticket_number", None) or ticket_id
        url = hde_ticket_url(base_url=getattr(obj, "hde_base_url", None) or "",
                             ticket_id=ticket_id, language=obj.shop.language)
        if not url:
            return str(number)
        return format_html('<a href="{}" class="hde-ticket" target="_blank" '
                           'rel="noopener noreferrer" title="{}">{}</a>', url,
                           _("Open the ticket in HelpDeskEddy"), number)

    @admin.display(description=_("about"))
    def about(self, obj):
        """The ticket by HDE's number (a link to it in HDE), or the order by
        its number, as people name them (the delivery key stays on the
        detail page for support)."""
        ticket_id = _ticket_id(obj)
        if ticket_id is not None:
            return _words(_("ticket %(ticket)s"), ticket=self._ticket_link(obj, ticket_id))
        order = _order_number(obj)
        return _("order %(order)s") % {"order": order} if order else "—"

    @admin.display(description=_("what happened"))
    def what_happened(self, obj):
        """"New ticket UYA-10518" (the number links to the ticket in HDE),
        "Order A-100 changed", and where the news came from."""
        ticket_id, order = _ticket_id(obj), _order_number(obj)
        sentence = None
        if ticket_id is not None and obj.event_type in TICKET_SENTENCES:
            sentence = _words(TICKET_SENTENCES[obj.event_type],
                              ticket=self._ticket_link(obj, ticket_id))
        elif order and obj.event_type == EventType.ORDER_CHANGED:
            sentence = _("Order %(order)s changed") % {"order": order}
        if sentence is None:
            what = obj.get_event_type_display() or obj.get_source_display()
            about = self.about(obj)
            sentence = what if about == "—" else format_html("{}: {}", what, about)
        return format_html('{}<br><span class="log-source">{}</span>', sentence,
                           obj.get_source_display())

    @admin.display(description=_("result"), ordering="state")
    def result(self, obj):
        """Where the event stands, in a sentence: done, waiting for its next
        try (when), or given up after how many tries and why."""
        return self._result_words(obj, with_reason=True)

    @admin.display(description=_("result"))
    def outcome(self, obj):
        """The detail page's: the error has its own row there."""
        return self._result_words(obj, with_reason=False)

    def _result_words(self, obj, *, with_reason):
        state = obj.state
        if state == EventState.PENDING and obj.next_attempt_at and obj.attempts:
            return ngettext(
                "Failed once, will try again at %(when)s",
                "Failed %(n)d times, will try again at %(when)s", obj.attempts) % {
                "n": obj.attempts, "when": shop_time(obj.next_attempt_at, obj.shop)}
        if state == EventState.PENDING:
            return _("Waiting to be processed")
        if state == EventState.PROCESSING:
            return _("Being processed now")
        if state == EventState.DONE:
            return _("Done")
        if state == EventState.IGNORED:
            return _("Nothing to do for this event")
        reason = "" if not with_reason else log_export.shop_excerpt(
            shown_text(GAVE_UP.sub("", obj.last_error or "")), obj.shop_id, 120)
        if state == EventState.PARKED:
            words = _("Waiting for a valid API key")
        else:
            words = ngettext("Gave up after %(n)d attempt", "Gave up after %(n)d attempts",
                             obj.attempts) % {"n": obj.attempts}
        if not reason:
            return words
        return format_html('{}<br><span class="log-reason">{}</span>', words, reason)

    @admin.display(description=_("source key"))
    def delivery_key(self, obj):
        """The key, with contact details masked for a reader who may not
        see them (and the shop's keys blanked)."""
        return log_export.shop_excerpt(obj.source_key, obj.shop_id, 200)

    @admin.display(description=_("last error (redacted)"))
    def error_excerpt(self, obj):
        text = log_export.shop_excerpt(shown_text(obj.last_error), obj.shop_id)
        return format_html("<pre class=\"log-excerpt\">{}</pre>", text) if text else "—"

    @admin.action(description=_("Replay dead, parked or ignored events"), permissions=["replay"])
    def replay(self, request, queryset):
        from integration.inbox.events import inbound_events_replay_selected

        outcome = inbound_events_replay_selected(queryset=queryset,
                                                 editable_shops=editable_shops(request.user))
        level = messages.SUCCESS if outcome.queued else messages.WARNING
        self.message_user(request, replay_message(outcome), level)

    def has_replay_permission(self, request):
        """Shown to users who edit at least one agency; the action itself
        then only touches events of the agencies they edit."""
        return editable_shops(request.user).exists()

    def extra_urls(self):
        return [path("<path:object_id>/replay/", self.admin_site.admin_view(self.replay_view),
                     name="integration_inboundevent_replay")]

    def replay_view(self, request, object_id):
        """One event's replay button (the detail page's POST form)."""
        return require_POST(self._replay_one)(request, object_id)

    def _replay_one(self, request, object_id):
        from integration.inbox.events import inbound_events_replay

        event = self.get_object(request, object_id)
        if event is None:
            raise Http404
        if not can_edit_agency_data(request.user, event.shop.agency_id):
            raise PermissionDenied
        count = inbound_events_replay(queryset=InboundEvent.objects.filter(pk=event.pk))
        if count:
            self.message_user(request, _("The event was queued again."), messages.SUCCESS)
        elif event.state == EventState.DONE:
            self.message_user(request, _("Nothing to replay: the event already succeeded."),
                              messages.WARNING)
        else:
            self.message_user(request, _("Nothing to replay: the event is being processed "
                                         "already."), messages.WARNING)
        return HttpResponseRedirect(
            reverse("admin:integration_inboundevent_change", args=[event.pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        event = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if event is not None:
            extra.update(self._detail_context(request, event))
        return super().change_view(request, object_id, form_url, extra)

    def _detail_context(self, request, event):
        """What this event caused: its processing attempts (one row per try,
        kept across replays), its API calls, and the ticket record and
        side effects of its ticket (keys `ticket:<id>` and `ticket:<id>:…`)."""
        secrets = log_export.shop_secrets(event.shop_id)
        masked = not can_read_personal_data(request.user, event.shop.agency_id)
        calls = [
            {"call": call,
             "path": log_export.shop_excerpt(call.path, event.shop_id, 200, masked=masked),
             "error": log_export.shop_excerpt(shown_text(call.error), event.shop_id, 300,
                                              masked=masked)}
            for call in event.api_calls.order_by("created_at", "pk")
        ]
        ticket_id = _ticket_id(event)
        side_effects, ticket, ticket_url = [], None, ""
        if ticket_id is not None:
            key = f"ticket:{ticket_id}"
            side_effects = list(
                SideEffect.objects.for_shop(event.shop)
                .filter(Q(key=key) | Q(key__startswith=f"{key}:")).order_by("created_at", "pk"))
            ticket = TicketRecord.objects.for_shop(event.shop).filter(ticket_id=ticket_id).first()
            hde = HelpDeskEddyConnection.objects.filter(shop=event.shop).values_list(
                "base_url", flat=True).first()
            ticket_url = hde_ticket_url(base_url=hde or "", ticket_id=ticket_id,
                                        language=event.shop.language)
        for effect in side_effects:
            effect.label = effect_label(effect.key)
        attempts = [
            {"attempt": attempt,
             "error": log_export.shop_excerpt(shown_text(attempt.error), event.shop_id, 300,
                                              masked=masked)}
            for attempt in event.attempt_log.order_by("number")
        ]
        return {
            "event": event,
            "attempts": attempts,
            "api_calls": calls,
            "side_effects": side_effects,
            "ticket": ticket,
            "ticket_id": ticket_id,
            "ticket_url": ticket_url,
            "payload_excerpt": log_export.payload_excerpt(event.payload, secrets, masked=masked),
            "show_ticket_subject": not masked,
            "can_replay": event.state in REPLAYABLE
            and can_edit_agency_data(request.user, event.shop.agency_id),
            "replay_url": reverse("admin:integration_inboundevent_replay", args=[event.pk]),
        }


def replay_message(outcome) -> str:
    """What the replay of a selection did, and why nothing (or not all) was
    queued: "Nothing to replay: the selected events already succeeded."."""
    reasons = []
    if outcome.succeeded:
        reasons.append(ngettext("%(n)d already succeeded", "%(n)d already succeeded",
                                outcome.succeeded) % {"n": outcome.succeeded})
    if outcome.in_progress:
        reasons.append(ngettext("%(n)d is being processed already",
                                "%(n)d are being processed already",
                                outcome.in_progress) % {"n": outcome.in_progress})
    if outcome.not_allowed:
        reasons.append(ngettext(
            "%(n)d belongs to an agency where you may only read",
            "%(n)d belong to an agency where you may only read",
            outcome.not_allowed) % {"n": outcome.not_allowed})
    if outcome.queued:
        queued = ngettext("%(n)d event queued again.", "%(n)d events queued again.",
                          outcome.queued) % {"n": outcome.queued}
        if not reasons:
            return queued
        return _("%(queued)s Not replayed: %(reasons)s.") % {
            "queued": queued, "reasons": "; ".join(reasons)}
    only = [reason for reason, count in (
        (_("Nothing to replay: the selected events already succeeded."), outcome.succeeded),
        (_("Nothing to replay: the selected events are being processed already."),
         outcome.in_progress),
        (_("Nothing to replay: replaying needs the owner or admin role in the events' "
           "agency."), outcome.not_allowed)) if count and count == outcome.skipped]
    if only:
        return only[0]
    if not reasons:
        return _("Nothing to replay: no events were selected.")
    return _("Nothing to replay: %(reasons)s.") % {"reasons": "; ".join(reasons)}


# What each ticket side effect did, as a person names it (the key's last part).
EFFECT_LABELS = {
    "hde_update": _("Ticket updated in HelpDeskEddy (priority, fields, tags)"),
    "hde_comment": _("Internal comment in HelpDeskEddy"),
    "hde_link": _("Card link written into the ticket"),
    "rcrm_note": _("Note on the customer in RetailCRM"),
    "rcrm_task": _("Task for the manager in RetailCRM"),
    "rcrm_closing_note": _("Closing note in RetailCRM"),
    "rcrm_customer": _("Customer created in RetailCRM"),
}


def effect_label(key: str) -> str:
    """"ticket:42:hde_link:3" → "Card link written into the ticket"; an
    unknown kind keeps its key (support reads it)."""
    for part in reversed(key.split(":")):
        if part in EFFECT_LABELS:
            return EFFECT_LABELS[part]
    return key


# One sentence per ticket event, the ticket's number in it (a link to HDE).
TICKET_SENTENCES = {
    EventType.NEW_TICKET: _("New ticket %(ticket)s"),
    EventType.NEW_REPLY: _("New reply in ticket %(ticket)s"),
    EventType.TICKET_CHANGED: _("Ticket %(ticket)s changed"),
}


def _words(sentence, **parts) -> str:
    """A translated sentence with HTML parts (links) put into it: the
    sentence is escaped, the parts are already safe."""
    return mark_safe(conditional_escape(str(sentence)) % {  # noqa: S308 - escaped above
        key: conditional_escape(value) for key, value in parts.items()})


def _order_number(event) -> str:
    payload = event.payload or {}
    return str((payload.get("snapshot") or {}).get("number") or payload.get("order_id") or "")


def _ticket_id(event) -> int | None:
    try:
        return int((event.payload or {}).get("ticket_id"))
    except (TypeError, ValueError):
        return None


@admin.register(WidgetRequest)
class WidgetRequestAdmin(CsvExportMixin, ReadOnlyAdminMixin, TenantScopedAdminMixin,
                         admin.ModelAdmin):
    list_display = ("when", "shop", "channel", "duration_ms", "cache_hit", "outcome",
                    "request_id")
    list_filter = (("shop", admin.RelatedOnlyFieldListFilter), "channel", "outcome",
                   "cache_hit", TimeRangeFilter)
    search_fields = ("request_id",)
    date_hierarchy = "created_at"
    list_select_related = ("shop",)
    readonly_fields = ["when", *(f.name for f in WidgetRequest._meta.fields
                                 if f.name not in ("id", "created_at"))]
    csv_rows = log_export.widget_requests_csv
    csv_name = "widget-requests"

    @admin.display(description=_("time"), ordering="created_at")
    def when(self, obj):
        return shop_time(obj.created_at, obj.shop)


@admin.register(RateLimitState)
class RateLimitStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Vendor accounts are shared by shops, so only superusers see them."""

    list_display = ("key", "banned_until", "remaining", "remaining_at", "updated_at")
    exclude = ("hits",)

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser
