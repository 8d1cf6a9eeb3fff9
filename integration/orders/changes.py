"""What the portal does when a customer's order changed in RetailCRM.

One handler for both inbound paths (the history poll and the RetailCRM
trigger, registered in integration.inbox.handlers):
1. the order as it is now: the poll's snapshot (read right after the change
   was seen), or a fresh read (a trigger carries only the id, because its
   body is whatever the RetailCRM admin typed, docs/vendors/retailcrm.md §15.1/§18.18);
2. the compact LocalOrder is upserted, a newer read never overwritten by an
   older one (events may be processed out of order by parallel workers);
3. the customer's cached context is dropped, so the widget shows the new
   status on its next request;
4. a problem status (per shop) opens a proactive ticket, or comments on the
   customer's open one (services.order_proactive), once per order and status.
"""

import logging
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from integration.core.side_effects import side_effect_done
from integration.customers.context import customer_context_invalidate
from integration.models import LocalOrder, OrderWatch, ProductName
from integration.orders.watch import (
    order_snapshot,
    order_statuses_get,
    problem_statuses_of,
)
from integration.vendors.errors import ApiNotFound
from integration.vendors.facts import right_available

logger = logging.getLogger("integration.order_events")


def proactive_key(order_id: int, status: str) -> str:
    return f"order:{order_id}:status:{status}:proactive"


def order_event_handle(*, event) -> None:
    shop = event.shop
    if not right_available(shop, "order_read"):
        # the key may not read orders (the health page says so); a
        # trigger delivery is kept, not acted on, and flags nothing.
        logger.info("order_events.no_order_read", extra={"shop": shop.pk})
        return
    payload = event.payload or {}
    order_id = int(payload["order_id"])
    watch, _ = OrderWatch.objects.get_or_create(shop=shop)
    crm = _Crm(shop, event)
    snapshot = payload.get("snapshot")
    if snapshot is None:
        try:
            order = crm.fresh_order(order_id)
        except ApiNotFound:
            _forget(shop, order_id)
            return
        site = getattr(shop.retailcrm, "site_code", "")
        if site and order.site and order.site != site:
            return  # another store's order: the key sees several stores (§3)
        snapshot = order_snapshot(order, order_statuses_get(crm.client, naming={order.status}),
                                  timezone.now())
    previous = local_order_apply(shop=shop, snapshot=snapshot)
    for customer_id in {snapshot.get("customer_id"), previous}:
        if customer_id:
            customer_context_invalidate(shop_id=shop.pk, customer_id=int(customer_id))
    status = snapshot.get("status") or ""
    if not (watch.proactive_tickets and status and getattr(shop, "helpdeskeddy", None)):
        return
    if side_effect_done(shop=shop, key=proactive_key(order_id, status)):
        return
    if status not in problem_statuses_of(watch, crm.client):
        return
    # Act on the order as it is *now*: a problem solved before we got here
    # needs no ticket (a later event covers a later problem).
    order = crm.fresh_order(order_id)
    if order.status != status:
        logger.info("order_events.problem_already_gone",
                    extra={"shop": shop.pk, "order": order_id, "status": status})
        return
    from integration.orders.proactive import proactive_ticket_open

    proactive_ticket_open(shop=shop, watch=watch, order=order, crm=crm.client, event=event,
                          key=proactive_key(order_id, status))


class _Crm:
    """The RetailCRM client built on first use, and the order read at most
    once per handler run."""

    def __init__(self, shop, event):
        self.shop, self.event = shop, event
        self._client, self._orders = None, {}

    @property
    def client(self):
        if self._client is None:
            from integration.vendors.retailcrm import RetailCrmClient

            self._client = RetailCrmClient.for_connection(self.shop.retailcrm, event=self.event)
        return self._client

    def fresh_order(self, order_id: int):
        if order_id not in self._orders:
            self._orders[order_id] = self.client.order(order_id)
        return self._orders[order_id]


def _forget(shop, order_id: int) -> None:
    """The order is gone from RetailCRM (deleted): so is our copy."""
    gone = LocalOrder.objects.for_shop(shop).filter(order_id=order_id)
    customer_id = gone.values_list("customer_id", flat=True).first()
    gone.delete()
    if customer_id:
        customer_context_invalidate(shop_id=shop.pk, customer_id=customer_id)


def local_order_apply(*, shop, snapshot: dict) -> int | None:
    """Upsert the compact copy unless a newer read is already stored.
    Returns the customer id the copy had before (an order can move to
    another customer; both contexts are then stale)."""
    read_at = datetime.fromisoformat(snapshot["read_at"])
    created = snapshot.get("created_at")
    values = {
        "customer_id": snapshot.get("customer_id"),
        "number": str(snapshot.get("number") or "")[:40],
        "created_at": datetime.fromisoformat(created) if created else None,
        "status": str(snapshot.get("status") or "")[:60],
        "status_group": str(snapshot.get("status_group") or "")[:60],
        "status_name": str(snapshot.get("status_name") or "")[:255],
        "total": Decimal(str(snapshot.get("total") or "0")),
        "currency": str(snapshot.get("currency") or "")[:3],
        "product_ids": list(snapshot.get("product_ids") or []),
        "synced_at": read_at,
    }
    order_id = int(snapshot["id"])
    rows = LocalOrder.objects.for_shop(shop).filter(order_id=order_id)
    known = rows.values_list("customer_id", "synced_at").first()
    if known is None:
        try:
            with transaction.atomic():
                LocalOrder.objects.create(shop=shop, order_id=order_id, **values)
            product_names_apply(shop=shop, names=snapshot.get("product_names"))
            return None
        except IntegrityError:  # created by a parallel worker meanwhile
            known = rows.values_list("customer_id", "synced_at").first()
    if known[1] < read_at:
        if rows.filter(synced_at__lt=read_at).update(**values):
            product_names_apply(shop=shop, names=snapshot.get("product_names"))
    return known[0]


def product_names_apply(*, shop, names) -> None:
    """Remember what the order's items call their offers (one upsert for
    all of them); a newer read renames, an older one never gets here."""
    if not isinstance(names, dict) or not names:
        return
    ProductName.objects.bulk_create(
        [ProductName(shop=shop, product_id=str(product_id)[:40], name=str(name)[:255])
         for product_id, name in names.items() if str(name).strip()],
        update_conflicts=True, unique_fields=["shop", "product_id"],
        update_fields=["name", "updated_at"])
