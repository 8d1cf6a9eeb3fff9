"""Personal data: how long it stays, what erasing a shop removes, and what we
hold about one customer.

Retention (defaults in deploy/README.md "Personal data"): the call logs and
finished events are purged by services.retention (`LOG_RETENTION_DAYS`); so are
widget request timings and refused-auth records (they hold client
addresses). This module purges what that one does not touch: record rows of
long-closed tickets with their side-effect keys and unused customer links. Cached contexts
expire by TTL and go at once when their shop is erased. Which customers a ticket's
widget card may show (WidgetScope) lives as long as a widget link does and is
dropped by the card itself (integration.widget.scope).

Erasing a shop relies on the database: every tenant-owned row has a
CASCADE foreign key to Shop, so one DELETE removes them all in one
transaction; the cache is not in the database, so its entries are dropped
explicitly once the delete went through (a failed delete leaves both).
"""

import json
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext

from integration.core.shop_cache import cache_keys, shop_cache_erase, shop_cache_keys
from integration.customers.context import _lookup_key, lookup_customer_id
from integration.models import (
    ApiCall,
    CustomerLink,
    InboundEvent,
    SideEffect,
    TicketRecord,
    WidgetScope,
)
from integration.ops.retention import purge_in_batches as _purge

BATCH = 1000


# -- retention ---------------------------------------------------------------
def personal_data_purge(*, now=None) -> dict[str, int]:
    """Delete what is past its retention; returns rows deleted per table."""
    now = now or timezone.now()
    knobs = settings.INTEGRATION
    ticket_cutoff = now - timedelta(days=knobs["TICKET_RETENTION_DAYS"])
    done = {}
    old_tickets = TicketRecord.objects.filter(
        Q(closed_at__lt=ticket_cutoff) | Q(closed_at__isnull=True, updated_at__lt=ticket_cutoff))
    effects = 0
    for shop_id, ticket_id in old_tickets.values_list("shop_id", "ticket_id").iterator():
        effects += SideEffect.objects.filter(
            shop_id=shop_id, key__startswith=f"ticket:{ticket_id}:").delete()[0]
    done["side_effects"] = effects
    done["tickets"] = _purge(old_tickets)
    link_cutoff = now - timedelta(days=knobs["CUSTOMER_LINK_RETENTION_DAYS"])
    done["customer_links"] = _purge(CustomerLink.objects.filter(updated_at__lt=link_cutoff))
    # "This sender's customer was created" keys (tickets/job.py): a sender →
    # customer link like the one above, kept as long.
    done["side_effects"] += _purge(SideEffect.objects.filter(
        key__startswith="sender:", created_at__lt=link_cutoff))
    return done


# -- erasing a shop ------------------------------------------------------------
def _cascade_counts(model, lookup: str, value, depth: int = 0) -> list[tuple[str, int]]:
    """Rows that a delete of `value` would cascade to, per model, walking
    CASCADE foreign keys the way the database will."""
    counts = []
    for relation in model._meta.related_objects:
        if relation.on_delete is not models.CASCADE or depth > 3:
            continue
        related = relation.related_model
        path = f"{relation.field.name}__{lookup}" if lookup else relation.field.name
        count = related._default_manager.filter(**{path: value}).count()
        counts.append((str(related._meta.verbose_name_plural), count))
        counts += _cascade_counts(related, path, value, depth + 1)
    return counts


def shop_erase_plan(*, shop) -> list[tuple[str, int]]:
    """What erasing `shop` removes: (table, rows) for every table, cache last."""
    from integration.models import Shop

    counts = [(str(Shop._meta.verbose_name_plural), 1)]
    merged: dict[str, int] = {}
    for name, count in _cascade_counts(Shop, "", shop.pk):
        merged[name] = merged.get(name, 0) + count
    counts += sorted(merged.items())
    counts.append((gettext("cache entries"), len(shop_cache_keys(shop.pk))))
    return counts


def shop_erase(*, shop) -> dict[str, int]:
    """Delete the shop and everything it owns; returns deleted rows per model."""
    shop_id = shop.pk
    with transaction.atomic():
        _, per_model = shop.delete()
    per_model = dict(per_model)
    per_model[gettext("cache entries")] = shop_cache_erase(shop_id=shop_id)
    return per_model


# -- a customer's data -------------------------------------------------------
def call_log_tokens(*, email: str = "", phone: str = "") -> list[str]:
    """The hashes under which the call log records this e-mail or phone."""
    from integration.vendors.call_log import token_for
    from integration.vendors.retailcrm_parsing import normalise_phone

    values = {email.strip().lower()} if email.strip() else set()
    if phone.strip():
        digits = "".join(c for c in phone if c.isdigit())
        normalised = normalise_phone(phone) or ""
        values |= {phone.strip(), digits, normalised, normalised.lstrip("+"),
                   normalised[-10:] if normalised.startswith("+7") else ""}
    return sorted({token_for(value) for value in values if value})


def _rows(queryset, fields) -> list[dict]:
    return [{k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
            for row in queryset.values(*fields)]


def _mentions(text: str, needle: str) -> bool:
    """`needle` (an id) occurs in `text` as a whole number, not inside another."""
    import re

    return re.search(rf"(?<!\d){re.escape(needle)}(?!\d)", text) is not None


def customer_data_export(*, shop, email: str = "", phone: str = "",
                         customer_id: int | None = None) -> dict:
    """Everything this shop stores about one customer, as JSON-ready data.

    Found by the RetailCRM customer id, and by e-mail / phone through the
    cached lookups and ticket data (the portal stores ids, not contact
    details, in its own tables; the call log holds them only as keyed
    hashes, which are looked up here).
    """
    email, phone = email.strip().lower(), phone.strip()
    customer_ids = {customer_id} if customer_id else set()
    cached_lookups = {}
    for args in ((email, "", ""), ("", phone, ""), (email, phone, "")):
        if any(args):
            key = _lookup_key(shop.pk, *args)
            found = cache.get(key)
            if found and lookup_customer_id(found):
                cached_lookups[key] = found
                customer_ids.add(int(lookup_customer_id(found)))
    ticket_infos = {}
    for key in cache_keys(f"ticketinfo:{shop.pk}:"):
        info = cache.get(key)
        if info and ((email and (info.get("email") or "").lower() == email)
                     or (phone and phone in (info.get("phone") or ""))):
            ticket_infos[key] = info
    ticket_ids = {int(info["id"]) for info in ticket_infos.values()}
    links = CustomerLink.objects.for_shop(shop).filter(customer_id__in=customer_ids)
    hde_users = set(links.values_list("hde_user_id", flat=True))
    tickets = TicketRecord.objects.for_shop(shop).filter(
        Q(customer_id__in=customer_ids) | Q(ticket_id__in=ticket_ids)
        | Q(hde_user_id__in=hde_users))
    ticket_ids |= set(tickets.values_list("ticket_id", flat=True))
    customer_ids |= {c for c in tickets.values_list("customer_id", flat=True) if c}

    text = Cast("payload", models.TextField())
    needles = Q(payload__ticket_id__in=list(ticket_ids))
    for needle in filter(None, [email, phone]):
        needles |= Q(payload_text__icontains=needle)
    events = InboundEvent.objects.for_shop(shop).annotate(payload_text=text).filter(needles)
    event_ids = set(events.values_list("pk", flat=True))

    ids = [str(i) for i in customer_ids | ticket_ids]
    # The call log holds e-mails and phones only as keyed hashes
    # (integration.vendors.call_log): look for those, in every form the
    # clients send (the e-mail; the phone as typed, in digits and as the
    # national number RetailCRM is searched with).
    tokens = call_log_tokens(email=email, phone=phone)
    call_filter = Q(event_id__in=event_ids)
    for needle in ids + tokens:
        call_filter |= Q(path__contains=needle)
    calls = [row for row in _rows(ApiCall.objects.for_shop(shop).filter(call_filter),
                                  ["id", "provider", "method", "path", "status_code", "outcome",
                                   "error", "event_id", "created_at"])
             if row["event_id"] in event_ids or any(_mentions(row["path"], n) for n in ids)
             or any(token in row["path"] for token in tokens)]
    effect_filter = Q(result__in=[str(c) for c in customer_ids])
    for ticket_id in ticket_ids:
        effect_filter |= Q(key__startswith=f"ticket:{ticket_id}:")
    effects = SideEffect.objects.for_shop(shop).filter(effect_filter)
    scopes = (WidgetScope.objects.for_shop(shop).filter(customer_id__in=customer_ids)
              .order_by("ticket_id", "pk"))
    contexts = {}
    for cid in customer_ids:
        for prefix in (f"ctx:{shop.pk}:{cid}:", f"ctxstale:{shop.pk}:{cid}:"):
            for key in cache_keys(prefix):
                contexts[key] = cache.get(key)
    data = {
        "shop": {"public_id": str(shop.public_id), "name": shop.name},
        "query": {"email": email, "phone": phone, "customer_id": customer_id},
        "exported_at": timezone.now().isoformat(),
        "customer_ids": sorted(customer_ids),
        "tickets": _rows(tickets, ["ticket_id", "unique_id", "subject", "hde_user_id",
                                         "customer_id", "order_number", "priority_rule",
                                         "status", "opened_at", "closed_at"]),
        "customer_links": _rows(links, ["hde_user_id", "customer_id", "updated_at"]),
        "widget_scopes": _rows(scopes, ["ticket_id", "customer_id", "reason", "created_at"]),
        "side_effects": _rows(effects, ["key", "state", "result", "created_at", "done_at"]),
        "inbound_events": _rows(events, ["id", "source", "source_key", "event_type", "payload",
                                         "state", "created_at"]),
        "api_calls": calls,
        "cached_lookups": cached_lookups,
        "cached_ticket_info": ticket_infos,
        "cached_contexts": contexts,
    }
    return json.loads(json.dumps(data, default=str))
