"""Alerts: e-mail the agency's owners and admins when a shop needs a person.

Conditions (evaluated for active shops by the `alerts-check` job every five
minutes; the same rows drive the admin banner):
- key_refused: a connection's key was refused (status needs_attention);
- hde_ban: HelpDeskEddy banned the shop's HDE account (RateLimitState);
- dead_events: events gave up since the last message about them;
- backlog_high: pending/processing events at or above the threshold for at
  least ALERT_BACKLOG_MINUTES (it *stays* high, not a burst).

At most one message per condition per shop per ALERT_REPEAT_MINUTES (an
hour): the right to send is won by a conditional UPDATE of `last_sent_at` on
the (shop, condition) row, which only one process can win; a cache
get-then-set could let two workers both send.
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from integration.core.formatting import zone_label
from integration.models import (
    AlertCondition,
    AlertState,
    ConnectionStatus,
    EventState,
    InboundEvent,
    RateLimitState,
    Shop,
)

logger = logging.getLogger("integration.alerts")

DEFAULTS = {"ALERT_BACKLOG_THRESHOLD": 50, "ALERT_BACKLOG_MINUTES": 15,
            "ALERT_REPEAT_MINUTES": 60}


def _knob(name: str) -> int:
    return int(settings.INTEGRATION.get(name, DEFAULTS[name]))


@dataclass
class Observed:
    """A condition that holds for a shop now.

    `facts`, not words: the row is read by people in other languages than
    the job's (the admin banner in each reader's, the e-mail in the shop's),
    so it is worded where it is read (`alert_detail_words`)."""

    facts: dict
    # For dead events: the newest death, so only new ones trigger a message.
    newest: object = None
    count: int = 0

    @property
    def detail(self) -> str:
        return json.dumps(self.facts, ensure_ascii=False)


def alert_still_holds(alert) -> bool:
    """The banner shows the alert job's last verdict; a refused key fixed a
    moment ago (its connection no longer "key refused") must not wait for
    the job's next run to leave the banner. Needs the shop's connections
    loaded (select_related)."""
    if alert.condition != AlertCondition.KEY_REFUSED:
        return True
    return any(getattr(alert.shop, name, None) is not None
               and getattr(alert.shop, name).status == ConnectionStatus.NEEDS_ATTENTION
               for name in ("retailcrm", "helpdeskeddy"))


def alert_detail_words(condition: str, stored: str, *, zone: str = "UTC") -> str:
    """An alert's detail in the active language, from the facts the job
    stored (AlertState.detail). Text stored before facts were kept is shown
    as it is."""
    from integration.vendors.errors import shown_text

    try:
        facts = json.loads(stored) if stored else {}
    except ValueError:
        return stored
    if not isinstance(facts, dict):
        return stored
    if condition == AlertCondition.KEY_REFUSED:
        return "; ".join(f"{label}: {shown_text(error) if error else _('key refused')}"
                         for label, error in facts.get("refused", []))
    if condition == AlertCondition.HDE_BAN and facts.get("until"):
        until = datetime.fromisoformat(facts["until"]).astimezone(ZoneInfo(zone or "UTC"))
        return _("API access banned until %(until)s") % {
            "until": f"{until.strftime('%H:%M')}\u00a0{zone_label(until)}"}
    if condition == AlertCondition.DEAD_EVENTS:
        n = int(facts.get("n", 0))
        return ngettext("%(n)s event gave up in the last 24 hours",
                        "%(n)s events gave up in the last 24 hours", n) % {"n": n}
    if condition == AlertCondition.BACKLOG_HIGH:
        n = int(facts.get("n", 0))
        return ngettext("%(n)s event waiting (threshold %(t)s)",
                        "%(n)s events waiting (threshold %(t)s)", n) % {
            "n": n, "t": facts.get("t", "")}
    return ""


def conditions_observe(*, shops, now) -> dict[tuple[int, str], Observed]:
    """What holds now, for all given shops in a few aggregate queries."""
    from integration.vendors.helpdeskeddy import HelpDeskEddyClient

    found: dict[tuple[int, str], Observed] = {}
    shop_list = list(shops.select_related("retailcrm", "helpdeskeddy"))
    hde_keys = {}
    for shop in shop_list:
        # The stored error (a fixed word's msgid, or the vendor's text), worded when read.
        refused = [
            [label, conn.last_error]
            for label, conn in (("RetailCRM", getattr(shop, "retailcrm", None)),
                                ("HelpDeskEddy", getattr(shop, "helpdeskeddy", None)))
            if conn is not None and conn.status == ConnectionStatus.NEEDS_ATTENTION
        ]
        if refused:
            found[shop.pk, AlertCondition.KEY_REFUSED] = Observed({"refused": refused})
        if getattr(shop, "helpdeskeddy", None) is not None:
            hde_keys[shop.pk] = HelpDeskEddyClient.account_key_for(shop.helpdeskeddy)
    bans = dict(RateLimitState.objects.filter(key__in=set(hde_keys.values()),
                                              banned_until__gt=now)
                .values_list("key", "banned_until"))
    for shop_id, key in hde_keys.items():
        if key in bans:
            found[shop_id, AlertCondition.HDE_BAN] = Observed(
                {"until": bans[key].isoformat()}, newest=bans[key])
    ids = [shop.pk for shop in shop_list]
    threshold = _knob("ALERT_BACKLOG_THRESHOLD")
    for item in InboundEvent.objects.filter(shop_id__in=ids).values("shop_id").annotate(
            dead=Count("id", filter=Q(state=EventState.DEAD,
                                      updated_at__gte=now - timedelta(hours=24))),
            newest_dead=Max("updated_at", filter=Q(state=EventState.DEAD)),
            backlog=Count("id", filter=Q(state__in=[EventState.PENDING,
                                                    EventState.PROCESSING]))):
        if item["dead"]:
            found[item["shop_id"], AlertCondition.DEAD_EVENTS] = Observed(
                {"n": item["dead"]}, newest=item["newest_dead"], count=item["dead"])
        if item["backlog"] >= threshold:
            found[item["shop_id"], AlertCondition.BACKLOG_HIGH] = Observed(
                {"n": item["backlog"], "t": threshold}, count=item["backlog"])
    return found


def _state_sync(*, shops, observed, now) -> dict[tuple[int, str], AlertState]:
    """Open rows for conditions that hold (keeping when they began), close
    the others. Returns the open rows."""
    open_rows = {}
    for (shop_id, condition), seen in observed.items():
        state, _created = AlertState.objects.get_or_create(shop_id=shop_id, condition=condition)
        AlertState.objects.filter(pk=state.pk, active_since__isnull=True).update(
            active_since=now)
        AlertState.objects.filter(pk=state.pk).update(detail=seen.detail[:1000])
        state.refresh_from_db()
        open_rows[shop_id, condition] = state
    holding = Q()
    for shop_id, condition in observed:
        holding |= Q(shop_id=shop_id, condition=condition)
    ended = AlertState.objects.filter(shop__in=shops, active_since__isnull=False)
    if observed:
        ended = ended.exclude(holding)
    ended.update(active_since=None)
    return open_rows


def _claim(state: AlertState, seen: Observed, now) -> bool:
    """Win the right to send for this row, atomically."""
    gate = now - timedelta(minutes=_knob("ALERT_REPEAT_MINUTES"))
    claim = AlertState.objects.filter(pk=state.pk).filter(
        Q(last_sent_at__isnull=True) | Q(last_sent_at__lte=gate))
    if state.condition == AlertCondition.BACKLOG_HIGH:
        claim = claim.filter(
            active_since__lte=now - timedelta(minutes=_knob("ALERT_BACKLOG_MINUTES")))
    if state.condition == AlertCondition.DEAD_EVENTS and seen.newest is not None:
        # Only deaths newer than the last message are news.
        claim = claim.filter(Q(last_sent_at__isnull=True) | Q(last_sent_at__lt=seen.newest))
    return claim.update(last_sent_at=now) == 1


def alert_recipients(shop) -> list[str]:
    """E-mail addresses of the shop agency's active owners and admins."""
    from integration.tenancy.access import agency_editor_ids

    user_ids = agency_editor_ids(shop.agency_id)
    return sorted(set(
        get_user_model().objects.filter(pk__in=user_ids, is_active=True).exclude(email="")
        .values_list("email", flat=True)))


def _message(shop, condition: str, seen: Observed) -> tuple[str, str]:
    base = settings.PORTAL_BASE_URL
    dashboard = base + reverse("admin:console-dashboard")
    shop_page = base + reverse("admin:integration_shop_change", args=[shop.pk])
    events = base + reverse("admin:integration_inboundevent_changelist") + f"?shop={shop.pk}"
    label = AlertCondition(condition).label
    detail = alert_detail_words(condition, seen.detail, zone=shop.timezone)
    subject = _("[Portal] %(shop)s: %(condition)s") % {"shop": shop.name, "condition": label}
    advice = {
        AlertCondition.KEY_REFUSED: _("A vendor refused the shop's API key: %(detail)s. Work "
                                      "that needs it is parked. Enter a valid key on the shop "
                                      "page: %(link)s") % {"detail": detail,
                                                           "link": shop_page},
        AlertCondition.HDE_BAN: _("HelpDeskEddy stopped answering this account's API (%(detail)s"
                                  ", over 300 requests a minute). The portal waits and resumes "
                                  "by itself; check for other scripts using the same account. "
                                  "%(link)s") % {"detail": detail, "link": dashboard},
        AlertCondition.DEAD_EVENTS: _("%(detail)s: the portal gave up on them. Open them, fix "
                                      "the cause and replay: %(link)s") % {
            "detail": detail, "link": events + "&state=dead"},
        AlertCondition.BACKLOG_HIGH: _("%(detail)s for %(minutes)s minutes or more. Check that "
                                       "the background worker runs and that the vendors answer: "
                                       "%(link)s") % {"detail": detail, "link": dashboard,
                                                      "minutes": _knob("ALERT_BACKLOG_MINUTES")},
    }[condition]
    body = "\n\n".join([advice, _("Agency dashboard: %(link)s") % {"link": dashboard},
                        _("You receive this as an owner or admin of %(agency)s. At most one "
                          "message per problem and shop per hour.") % {
                            "agency": shop.agency.name}])
    return subject, body


def alerts_check(*, now=None) -> int:
    """Evaluate every active shop; send what is due. Returns messages sent."""
    now = now or timezone.now()
    shops = Shop.objects.filter(active=True)
    observed = conditions_observe(shops=shops, now=now)
    open_rows = _state_sync(shops=shops, observed=observed, now=now)
    sent = 0
    shops_by_id = {s.pk: s for s in Shop.objects.filter(
        pk__in={shop_id for shop_id, _c in open_rows}).select_related("agency")}
    for (shop_id, condition), state in open_rows.items():
        seen = observed[shop_id, condition]
        if not _claim(state, seen, now):
            continue
        shop = shops_by_id[shop_id]
        recipients = alert_recipients(shop)
        if not recipients:
            continue
        with translation.override(shop.language):
            subject, body = _message(shop, condition, seen)
        try:
            send_mail(subject, body, None, recipients)
        except Exception:  # noqa: BLE001 - give the next run the chance to retry
            logger.exception("alerts.send_failed", extra={"shop": shop_id,
                                                          "condition": condition})
            AlertState.objects.filter(pk=state.pk).update(last_sent_at=state.last_sent_at)
            continue
        sent += 1
        logger.info("alerts.sent", extra={"shop": shop_id, "condition": condition})
    return sent
