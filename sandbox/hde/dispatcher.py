"""The emulated HDE dispatcher: rules with the "Send webhook" action.

Reference §11: an admin writes a rule (required event condition, OR-ed) whose
action sends an HTTP request with a free-form body template; placeholders
such as `{ticket_id}` are replaced by raw text (§11.3, no JSON escaping), there
is no signature, authentication is optional Basic credentials, and 2xx/3xx is
success while anything else is retried (§11.2).

Why a queue and a pump: the real dispatcher is not instantaneous (§11.1), and a
delivery sent from inside the API request that caused it would re-enter the
portal while the portal is still waiting for that very request (a deadlock on
a single-threaded dev server, and a lie about timing). So `fire()` only
writes `Delivery` rows in the caller's transaction, and `pump()` sends them
later: from a thread in `make run` (`manage.py sandbox_hde_pump`), or
explicitly in tests.
"""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.html import strip_tags

from sandbox.hde.models import Account, Delivery, Event, HdeUser, Message, WebhookRule

# The body we ask real HDE admins to paste into a dispatcher rule (the README
# shows it too). Only the event name (typed by the admin, one rule per event)
# and the ticket id: the receiver re-reads the ticket through the API, the
# secret travels as Basic credentials, and no free text (a quote in a
# subject) can ever break the JSON, since HDE substitutes raw text.
PORTAL_WEBHOOK_TEMPLATE = '{"event": "<event name>", "ticket_id": "{ticket_id}"}'

# Seconds after the 1st, 2nd, 3rd failed attempt. The real HDE retries every
# 30 minutes for 24 hours (§11.2); the emulator compresses that so a demo
# recovers quickly and tests stay short. Tests pass `now=` to pump() instead
# of sleeping.
RETRY_DELAYS = getattr(settings, "SANDBOX_HDE_RETRY_DELAYS", (2, 10, 30))
SEND_TIMEOUT = (3.05, 10)
CLAIM_SECONDS = 60

_PLACEHOLDER = re.compile(r"\{([a-z_]+[0-9]*)\}")
_STRIP_TAGS = re.compile(r"\$strip_tags\(\{([a-z_]+[0-9]*)\}\)")


def portal_webhook_template(event: str) -> str:
    """PORTAL_WEBHOOK_TEMPLATE with the event name typed in, as an admin
    would for the rule of that event."""
    return PORTAL_WEBHOOK_TEMPLATE.replace("<event name>", event)


def add_webhook_rule(account, *, name, events, url, template, username="", password="",
                     body_format="json", method="POST") -> list[WebhookRule]:
    """Point the dispatcher of `account` (an Account or its code) at a URL.

    A template containing the literal `<event name>` (PORTAL_WEBHOOK_TEMPLATE)
    becomes one rule per event with the name filled in, exactly what an admin
    does in the real UI since a rule's body cannot tell which of its OR-ed
    events fired. Any other template makes a single rule for all `events`.
    """
    if isinstance(account, str):
        account = Account.objects.get(code=account)
    events = [events] if isinstance(events, str) else list(events)
    unknown = set(events) - set(Event.values)
    if unknown:
        raise ValueError(f"Unknown dispatcher events: {sorted(unknown)}")
    fields = dict(account=account, method=method.upper(), url=url, body_format=body_format,
                  username=username, password=password, active=True)
    if "<event name>" in template:
        return [
            WebhookRule.objects.create(
                name=f"{name}: {event}" if len(events) > 1 else name, events=[event],
                template=template.replace("<event name>", event), **fields,
            )
            for event in events
        ]
    return [WebhookRule.objects.create(name=name, events=events, template=template, **fields)]


def placeholders(account, ticket) -> dict[str, str]:
    """Values of the §11.3 placeholders for a ticket, all as strings."""
    from sandbox.hde.models import Department, Priority, Status
    from sandbox.hde.pages import ticket_path
    from sandbox.hde.services import fmt_post_date, name_of

    owner, user = ticket.owner, ticket.user
    status = Status.objects.filter(account=account, slug=ticket.status_id).first()
    priority = Priority.objects.filter(account=account, hid=ticket.priority_id).first()
    department = Department.objects.filter(account=account, hid=ticket.department_id).first()
    last = (Message.objects.filter(ticket=ticket).select_related("user")
            .order_by("-date_created", "-hid").first())
    base = settings.PORTAL_BASE_URL.rstrip("/")
    values = {
        "ticket_id": ticket.hid, "unique_id": ticket.unique_id, "ticket_name": ticket.title,
        "status": name_of(status.name) if status else ticket.status_id,
        "status_id": ticket.status_id,
        "priority": name_of(priority.name) if priority else "",
        "owner_id": owner.hid if owner else 0, "owner_name": owner.full_name if owner else "",
        "owner_email": owner.email if owner else "",
        "user_id": user.hid, "user_name": user.full_name, "user_email": user.email,
        "company_name": user.organization,
        "department": name_of(department.name) if department else "",
        "answer_last": last.text if last else "",
        "answer_last_without_html": strip_tags(last.text) if last else "",
        "last_post_id": last.hid if last else "",
        "last_post_user_id": last.user.hid if last else "",
        "last_post_date": fmt_post_date(account, last.date_created) if last else "",
        "creator_group_name": (
            ("Администраторы" if last.user.group_type == HdeUser.STAFF else "Клиенты")
            if last else ""
        ),
        "last_answer_attachments_links": "",
        "date_update": date_update(account, ticket.date_updated),
        "link_staff": base + ticket_path(account.code, ticket.hid),
        "sla_remaining_minutes": "",
    }
    for key, value in (ticket.custom_fields or {}).items():
        values[f"custom_field_{key}"] = value
    return {key: "" if value is None else str(value) for key, value in values.items()}


# `{date_update}` may not be written like the API's `date_updated` (§11.3:
# the placeholder list is not public): switch `date_update_format`.
DATE_UPDATE_FORMATS = {
    "ymd_hms": "%Y-%m-%d %H:%M:%S",  # as the API writes date_updated
    "ymd_hm": "%Y-%m-%d %H:%M",
    "dmy_hm": "%d.%m.%Y %H:%M",  # as the API writes sla_date
    "dmy_hms": "%d.%m.%Y %H:%M:%S",
}


def date_update(account, moment) -> str:
    """The `{date_update}` placeholder of a ticket updated at `moment`, by
    the switches `date_update_format` and `date_update_timezone`."""
    zone = (ZoneInfo("UTC") if account.switch("date_update_timezone") == "utc"
            else ZoneInfo(account.timezone))
    style = account.switch("date_update_format")
    if style == "unix":
        return str(int(moment.timestamp()))
    return moment.astimezone(zone).strftime(DATE_UPDATE_FORMATS[style])


def render(template: str, values: dict[str, str]) -> str:
    """Raw substitution like the real HDE (§11.3): values are NOT escaped
    for JSON or forms; unknown tokens stay as typed."""
    text = _STRIP_TAGS.sub(lambda m: strip_tags(values.get(m.group(1), m.group(0))), template)
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def fire(account, event: str, ticket) -> int:
    """Queue a delivery for every active rule of `account` that listens to
    `event`. Runs inside the caller's transaction, so a rolled-back change
    sends nothing. Returns the number of deliveries queued."""
    rules = [r for r in WebhookRule.objects.filter(account=account, active=True)
             if event in (r.events or [])]
    if not rules:
        return 0
    values = placeholders(account, ticket)
    now = timezone.now()
    for rule in rules:
        Delivery.objects.create(
            rule=rule, event=event, ticket_hid=ticket.hid, method=rule.method,
            url=render(rule.url, values), body=render(rule.template, values),
            content_type=("application/json" if rule.body_format == "json"
                          else "application/x-www-form-urlencoded"),
            next_attempt_at=now,
        )
    return len(rules)


def _claim(delivery: Delivery, now) -> bool:
    """Take a due delivery so two pumps never send it twice."""
    return bool(
        Delivery.objects.filter(
            pk=delivery.pk, state=Delivery.QUEUED, next_attempt_at=delivery.next_attempt_at
        ).update(next_attempt_at=now + timedelta(seconds=CLAIM_SECONDS))
    )


def _send(delivery: Delivery) -> tuple[int | None, str]:
    rule = delivery.rule
    auth = (rule.username, rule.password) if rule.username else None
    try:
        response = requests.request(
            delivery.method, delivery.url,
            data=delivery.body.encode("utf-8") if delivery.method != "GET" else None,
            headers={"Content-Type": f"{delivery.content_type}; charset=utf-8",
                     "User-Agent": "HelpDeskEddy-Dispatcher (sandbox)"},
            auth=auth, timeout=SEND_TIMEOUT, allow_redirects=False,
        )
    except requests.RequestException as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    return response.status_code, "" if response.status_code < 400 else response.text[:500]


def pump(now=None) -> int:
    """Send every due delivery once; return how many were attempted.

    §11.2: 2xx and 3xx are success; other codes and unreachable hosts are
    retried after RETRY_DELAYS, then the delivery is marked failed.
    """
    now = now or timezone.now()
    attempted = 0
    due = list(Delivery.objects.filter(state=Delivery.QUEUED, next_attempt_at__lte=now)
               .select_related("rule").order_by("next_attempt_at", "pk")[:100])
    for delivery in due:
        if not _claim(delivery, now):
            continue
        attempted += 1
        status, error = _send(delivery)
        delivery.attempts += 1
        delivery.last_status = status
        delivery.last_error = error
        if status is not None and 200 <= status < 400:
            delivery.state = Delivery.SENT
        elif delivery.attempts > len(RETRY_DELAYS):
            delivery.state = Delivery.FAILED
        else:
            delay = RETRY_DELAYS[delivery.attempts - 1]
            delivery.next_attempt_at = now + timedelta(seconds=delay)
        with transaction.atomic():
            Delivery.objects.filter(pk=delivery.pk).update(
                attempts=delivery.attempts, last_status=delivery.last_status,
                last_error=delivery.last_error, state=delivery.state,
                next_attempt_at=delivery.next_attempt_at,
            )
    return attempted
