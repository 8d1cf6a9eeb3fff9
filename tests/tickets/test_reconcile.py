"""Reconciliation: tickets whose webhook was lost are still handled, once."""

from integration.models import ApiCall, EventState, InboundEvent, ShopSettings
from integration.tickets.reconcile import tickets_reconcile
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from sandbox.hde.models import Delivery
from sandbox.hde.models import Ticket as HdeTicket


def _events(shop):
    return InboundEvent.objects.filter(shop=shop, event_type="new_ticket")


def test_first_run_backfills_open_tickets_within_bounds(wired_shop):
    created = tickets_reconcile(shop=wired_shop, max_pages=1)
    open_ids = set(HdeTicket.objects.filter(account__code="demo",
                                            status_id__in=["open", "process"])
                   .values_list("hid", flat=True))
    stored = {e.payload["ticket_id"] for e in _events(wired_shop)}
    assert created == len(open_ids) and stored == open_ids
    closed = HdeTicket.objects.filter(account__code="demo", status_id="closed").first()
    assert closed.hid not in stored
    assert ApiCall.objects.filter(path__contains="/api/v2/tickets/?").count() == 1
    assert all(e.state == EventState.DONE for e in _events(wired_shop))
    assert ShopSettings.objects.get(shop=wired_shop).reconciled_until is not None


def test_lost_webhook_is_recovered_and_nothing_is_duplicated(wired_shop):
    tickets_reconcile(shop=wired_shop)  # first run (back-fill)
    hde = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy)
    lost = hde.create_ticket(title="Где мой заказ?", description="...",
                             user_email="olga.k@example.ru")
    Delivery.objects.all().delete()  # HDE gave up on the webhook
    before = _events(wired_shop).count()
    assert tickets_reconcile(shop=wired_shop) == 1
    event = next(e for e in _events(wired_shop) if e.payload["ticket_id"] == lost.id)
    assert event.state == EventState.DONE and event.source_key == f"new_ticket:{lost.id}"
    assert len(hde.list_comments(lost.id)) == 1
    assert tickets_reconcile(shop=wired_shop) == 0  # seen: no new events
    assert _events(wired_shop).count() == before + 1
