"""Reconciliation: tickets whose webhook never arrived still get handled.

HDE retries a failed webhook for about a day and then gives up, and a
dispatcher rule can be misconfigured for a while. Every few minutes each
shop's newest tickets are listed (newest first, paging back to the cursor
with an overlap) and any ticket the inbox has not seen is stored as the same
`new_ticket` event a webhook would have produced: same source and key, so
whichever arrives second is a no-op.

The first run of a shop back-fills its open tickets, bounded by `max_pages`
(30 tickets a page) so a large desk never spends the HDE budget at once; the
calls are background calls, throttled below the interactive reserve. "Open"
is every status of the account except the built-in `closed`: accounts add
their own (the emulator seeds a custom status `6`), and a ticket waiting in
one of them is as open as one in `open` or `process`.

A ticket that another shop on the same HDE account (same account address,
whatever the key) has already received or handled is left alone: without
that, a second shop wired to an account back-filled its open tickets and
wrote its own notes and links on tickets the first shop had handled. (Two
active shops on one account *and key* are refused outright, see
integration.tenancy.hde_accounts.)
"""

from datetime import timedelta

from django.utils import timezone

from integration.inbox.events import inbound_event_store
from integration.inbox.keys import NEW_TICKET, ticket_event_key
from integration.models import EventSource, InboundEvent, ShopSettings, TicketRecord
from integration.vendors.errors import ApiError

OVERLAP = timedelta(minutes=10)
MAX_PAGES = 3
CLOSED_STATUS = "closed"  # HDE's built-in terminal status (§5.3)


def open_statuses(client) -> list[str]:
    """Every status of the account that is not closed (the list is cached
    an hour per connection by the client)."""
    return [str(status.id) for status in client.statuses() if str(status.id) != CLOSED_STATUS]


def tickets_reconcile(*, shop, now=None, max_pages: int = MAX_PAGES) -> int:
    """Store events for unseen tickets; return how many were new."""
    from integration.vendors.helpdeskeddy import HelpDeskEddyClient

    now = now or timezone.now()
    settings = ShopSettings.of(shop)
    client = HelpDeskEddyClient.for_connection(shop.helpdeskeddy)
    first_run = settings.reconciled_until is None
    since = None if first_run else settings.reconciled_until - OVERLAP
    found = []
    statuses = open_statuses(client) if first_run else None
    for page in range(1, max_pages + 1):
        result = client.list_tickets(page=page, order_by="date_created{desc}",
                                     status_ids=statuses)
        older_seen = False
        for ticket in result.items:
            if since and ticket.date_created and ticket.date_created < since:
                older_seen = True
                continue
            found.append(ticket.id)
        if older_seen or page >= result.total_pages:
            break
    created = _store_unseen(shop, found)
    settings.reconciled_until = now
    settings.save(update_fields=["reconciled_until"])
    return created


def _handled_elsewhere(shop, keys: dict[str, int]) -> set[str]:
    """Keys of tickets another shop on the same HDE account has received
    (an event) or handled (a ticket record)."""
    from integration.tenancy.hde_accounts import shop_ids_on_hde_account

    others = [pk for pk in shop_ids_on_hde_account(base_url=shop.helpdeskeddy.base_url)
              if pk != shop.pk]
    if not others or not keys:
        return set()
    seen = set(InboundEvent.objects.filter(
        shop_id__in=others, source=EventSource.HDE_WEBHOOK, source_key__in=keys,
    ).values_list("source_key", flat=True))
    recorded = set(TicketRecord.objects.filter(
        shop_id__in=others, ticket_id__in=keys.values()).values_list("ticket_id", flat=True))
    return seen | {key for key, ticket_id in keys.items() if ticket_id in recorded}


def _store_unseen(shop, ticket_ids) -> int:
    keys = {ticket_event_key(NEW_TICKET, ticket_id): ticket_id for ticket_id in ticket_ids}
    seen = set(InboundEvent.objects.for_shop(shop).filter(
        source=EventSource.HDE_WEBHOOK, source_key__in=keys).values_list("source_key",
                                                                          flat=True))
    seen |= _handled_elsewhere(shop, keys)
    created = 0
    for key, ticket_id in keys.items():
        if key in seen:
            continue
        _, is_new = inbound_event_store(
            shop=shop, source=EventSource.HDE_WEBHOOK, source_key=key, event_type="new_ticket",
            payload={"ticket_id": ticket_id, "via": "reconciliation"})
        created += int(is_new)
    return created


def shops_reconcile_due() -> list[int]:
    """Active shops with an HDE connection that is not refusing our key."""
    from integration.models import ConnectionStatus, Shop

    return list(Shop.objects.filter(active=True, helpdeskeddy__isnull=False)
                .exclude(helpdeskeddy__status=ConnectionStatus.NEEDS_ATTENTION)
                .values_list("pk", flat=True))


def tickets_reconcile_safely(*, shop_id: int) -> int | None:
    """One shop's failure never blocks another's: errors end this run only."""
    from integration.models import Shop

    shop = Shop.objects.select_related("helpdeskeddy").filter(pk=shop_id).first()
    if shop is None:
        return None
    try:
        return tickets_reconcile(shop=shop)
    except ApiError:
        return None
