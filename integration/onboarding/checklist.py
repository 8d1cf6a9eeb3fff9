"""The getting-started checklist of each shop, shown on the agency dashboard.

Five steps, each with the page where a person acts on it:

1. **Connected**: the shop is active and both connections work (a draft
   links to the wizard's next step; an active shop to its page).
2. **Rules reviewed** and 3. **Templates reviewed**: the shop's priority
   rules and reply templates, filtered to the shop.
4. **First webhook received**: HDE's dispatcher called the portal (links
   to the wizard's webhook set-up, which shows the URLs and bodies again).
5. **First ticket enriched**: the ticket job updated a ticket in HDE
   (links to the shop's sync log, where a failure would show).

How "reviewed" is recorded (a decision, not a measurement): a timestamp on
the shop's settings (`rules_reviewed_at`, `templates_reviewed_at`), set when
an owner or admin presses **Mark as reviewed** on the shop's rules (or
templates) list, or saves one of them in the admin. Opening the page does
not count: a page opened by mistake, or by a viewer who may not change
anything, is not a review; saving one is, since nobody saves a rule they
did not read.

Steps 4 and 5 are read from the system's own record (the inbox and the
ticket records), so they tick by themselves as the shop starts working.
Everything here is computed in a fixed number of queries for any number of
shops (the dashboard lists them all).
"""

from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from django.db.models import Min
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integration.models import (
    ConnectionStatus,
    EventSource,
    InboundEvent,
    ShopSettings,
    TicketRecord,
)

REVIEW_KINDS = {"rules": "rules_reviewed_at", "templates": "templates_reviewed_at"}

STEP_LABELS = {
    "connected": _("Connected"),
    "rules": _("Rules reviewed"),
    "templates": _("Templates reviewed"),
    "webhook": _("First webhook received"),
    "enriched": _("First ticket enriched"),
}
STEP_TODO = {
    "connected": _("Finish connecting RetailCRM and HelpDeskEddy"),
    "rules": _("Review the priority rules"),
    "templates": _("Review the reply templates"),
    "webhook": _("Set up the HelpDeskEddy dispatcher"),
    "enriched": _("Create a ticket in HelpDeskEddy and check the sync log"),
}


@dataclass
class ChecklistStep:
    key: str
    done: bool
    url: str
    done_at: datetime | None = None

    @property
    def label(self):
        return STEP_LABELS[self.key]

    @property
    def todo(self):
        return STEP_TODO[self.key]


@dataclass
class Checklist:
    shop: object
    steps: list[ChecklistStep] = field(default_factory=list)

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def complete(self) -> bool:
        return self.done_count == len(self.steps)


def _changelist(model: str, shop) -> str:
    return (reverse(f"admin:integration_{model}_changelist") + "?"
            + urlencode({"shop__id__exact": shop.pk}))


def _works(connection) -> bool:
    return connection is not None and connection.status == ConnectionStatus.OK


def _connected_url(shop, *, editable: bool, priorities_set: bool) -> str:
    """A draft continues in the wizard at its first unfinished step; an
    active shop (or a viewer) goes to the shop's page with its connections."""
    if shop.active or not editable:
        return reverse("admin:integration_shop_change", args=[shop.pk])
    rc, hde = getattr(shop, "retailcrm", None), getattr(shop, "helpdeskeddy", None)
    if not _works(rc):
        step = "retailcrm"
    elif hde is None or not hde.hde_user_id:
        step = "hde"
    elif not priorities_set:
        step = "priorities"
    else:
        step = "check"
    return reverse(f"admin:console-wizard-{step}", args=[shop.public_id])


def shops_checklists(*, shops: list, editable: dict[int, bool]) -> dict[int, Checklist]:
    """The checklist of every shop in `shops` (objects already scoped to the
    user, loaded with their connections), keyed by shop id. `editable` maps an
    agency id to whether the user configures its shops: editors get links to
    the wizard, viewers to the pages they may read."""
    ids = [shop.pk for shop in shops]
    reviewed = {row["shop_id"]: row for row in ShopSettings.objects.filter(shop_id__in=ids).values(
        "shop_id", "rules_reviewed_at", "templates_reviewed_at", "normal_priority_id")}
    first_webhook = dict(InboundEvent.objects.filter(
        shop_id__in=ids, source=EventSource.HDE_WEBHOOK).values("shop_id")
        .annotate(first=Min("created_at")).values_list("shop_id", "first"))
    first_enriched = dict(TicketRecord.objects.filter(
        shop_id__in=ids, last_portal_update_at__isnull=False).values("shop_id")
        .annotate(first=Min("last_portal_update_at")).values_list("shop_id", "first"))
    lists = {}
    for shop in shops:
        may_edit = editable.get(shop.agency_id, False)
        marks = reviewed.get(shop.pk, {})
        connected = (shop.active and _works(getattr(shop, "retailcrm", None))
                     and _works(getattr(shop, "helpdeskeddy", None)))
        events = (reverse("admin:integration_inboundevent_changelist") + "?"
                  + urlencode({"shop": shop.pk}))
        lists[shop.pk] = Checklist(shop=shop, steps=[
            ChecklistStep("connected", connected, _connected_url(
                shop, editable=may_edit, priorities_set=bool(marks.get("normal_priority_id")))),
            ChecklistStep("rules", bool(marks.get("rules_reviewed_at")),
                          _changelist("priorityrule", shop), marks.get("rules_reviewed_at")),
            ChecklistStep("templates", bool(marks.get("templates_reviewed_at")),
                          _changelist("replytemplate", shop), marks.get("templates_reviewed_at")),
            ChecklistStep("webhook", shop.pk in first_webhook,
                          reverse("admin:console-wizard-hooks", args=[shop.public_id])
                          if may_edit else events, first_webhook.get(shop.pk)),
            ChecklistStep("enriched", shop.pk in first_enriched, events,
                          first_enriched.get(shop.pk)),
        ])
    return lists


def shop_review_mark(*, shop, kind: str) -> datetime:
    """Record that a person reviewed the shop's rules or templates (see the
    module docstring); the caller has checked they may change the shop."""
    now = timezone.now()
    settings = ShopSettings.of(shop)
    setattr(settings, REVIEW_KINDS[kind], now)
    settings.save(update_fields=[REVIEW_KINDS[kind]])
    return now


def shop_review_state(*, shop, kind: str) -> datetime | None:
    """When the shop's rules or templates were last marked as reviewed."""
    return (ShopSettings.objects.filter(shop=shop)
            .values_list(REVIEW_KINDS[kind], flat=True).first())


@dataclass
class FirstWebhook:
    received_at: datetime
    event_type: str  # as a person names it


def first_webhook_get(*, shop) -> FirstWebhook | None:
    """The first HDE webhook the portal stored for the shop, or None: what
    the wizard's live check waits for."""
    event = (InboundEvent.objects.for_shop(shop).filter(source=EventSource.HDE_WEBHOOK)
             .order_by("created_at").only("created_at", "event_type").first())
    if event is None:
        return None
    return FirstWebhook(received_at=event.created_at,
                        event_type=str(event.get_event_type_display() or ""))
