"""The ticket job: what happens when HDE says a ticket arrived or changed.

New ticket / new reply (at most three HDE calls for a new ticket: read the
ticket, one PUT, one internal comment):
1. read the ticket; the requester's e-mail comes with it (the user record is
   read only for phone-only contacts);
2. build the customer context (the widget's service) and decide the
   priority from the shop's rules;
3. one PUT: priority, mapped custom fields (the CRM card link among them),
   tags; remember HDE's update time as the loop-guard marker;
4. one internal comment with the summary and the card link;
5. reverse flow into RetailCRM, each switchable: create the unknown
   customer (once per sender, see below), a note on the ticket's customer, a
   task for the manager when an order is in delivery.
Every write is a keyed side effect, so retries and replays never duplicate.

One customer per sender, whatever the timing: two tickets from one unknown
sender processed at the same moment both search RetailCRM and both find
nothing. The creation is therefore keyed per shop and *sender* (normalised
e-mail, else phone, else HDE user), not per ticket: the first job writes, a
concurrent one waits for it and uses its customer, a later one gets the
stored id (`side_effect_once`). A crash after the create was sent but before
its id was stored leaves the key `started`; the next attempt searches
RetailCRM before creating again. Whichever job created the customer, every
ticket's note goes on that customer.

Ticket changed: only the record moves (and the closing note goes out on
close); a change that merely reflects the portal's own PUT is ignored.

Tolerant of what the vendors leave open (docs/vendors/open-questions.md):
- mapped custom fields get only the values the portal has: a field whose
  value is unknown (an unknown sender has no orders count) is left alone,
  never blanked, so nothing an operator typed is wiped;
- tags go in the same PUT unless the connection learned that HDE refuses or
  ignores them (H-1, integration.vendors.helpdeskeddy); the comment then
  names the tags the rules chose;
- the loop guard recognises its own change whatever the format of the
  dispatcher's `{date_update}` (H-3, `date_update_matches`);
- RetailCRM writes whose right the key lacks are skipped (R-6: notes,
  customers, tasks; integration.vendors.facts);
- the contract probe's own test ticket is left alone.
"""

import json
import logging
import re

from django.utils import timezone, translation
from django.utils.translation import gettext

from integration.core.formatting import money, status_shown
from integration.core.side_effects import side_effect_done, side_effect_once
from integration.customers import senders
from integration.customers.context import customer_context_get, customer_link_set
from integration.customers.types import ContextStatus, CustomerContext
from integration.models import FieldMapping, MappedValue, ShopSettings, TicketRecord
from integration.tickets import texts
from integration.tickets.info import ticket_info_read
from integration.tickets.priority import priority_decide
from integration.vendors.errors import ApiValidationError
from integration.vendors.facts import right_available
from integration.vendors.helpdeskeddy_parsing import date_update_matches
from integration.vendors.probe import probe_ticket
from integration.widget.links import widget_link_build, widget_link_generation

logger = logging.getLogger("integration.tickets")

JOB_DEADLINE = 60.0


def _clients(event):
    from integration.vendors.helpdeskeddy import HelpDeskEddyClient
    from integration.vendors.retailcrm import RetailCrmClient

    shop = event.shop
    return (HelpDeskEddyClient.for_connection(shop.helpdeskeddy, event=event),
            RetailCrmClient.for_connection(shop.retailcrm, event=event))


def _plain_number(value) -> str:
    """A sum for a number field: "7220", "7220.5" (no ".00" to read past)."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def mapped_fields(*, mappings, field_kinds: dict[int, str], context: CustomerContext,
                  widget_link: str, language: str, currency: str) -> dict[int, str]:
    """What each mapped HDE field gets, by the field's kind: a number field
    the plain number and a checkbox 1 or 0 (what HDE accepts there); any
    other field the words a person reads there ("7 220 ₽", "да"). Only the
    values we have: an unknown sender has no orders count, and an empty
    string would wipe whatever an operator typed into that field."""
    words = mapped_values(context=context, widget_link=widget_link, language=language,
                          currency=currency)
    customer = context.customer
    plain = {MappedValue.TOTAL_SUM: _plain_number(customer.total_sum),
             MappedValue.AVERAGE_SUM: _plain_number(customer.average_sum),
             MappedValue.VIP: "1" if customer.vip else "0"} if customer else {}
    fields = {}
    for mapping in mappings:
        kind = field_kinds.get(mapping.hde_field_id, "")
        value = (plain.get(mapping.value) if kind in ("number", "checkbox") else None) or \
            words.get(mapping.value)
        if value:
            fields[mapping.hde_field_id] = value
    return fields


def mapped_values(*, context: CustomerContext, widget_link: str, language: str = "ru",
                  currency: str = "RUB") -> dict[str, str]:
    """Each value in words, for a text field."""
    customer = context.customer
    # The newest by date, never the first listed: the order named in the
    # ticket is pinned first, and it may be an old one.
    newest = max(context.orders, key=lambda order: (order.created_at, order.id),
                 default=None)
    values = {MappedValue.CRM_CARD: widget_link}
    if customer:
        values.update({
            MappedValue.CUSTOMER_ID: str(customer.id),
            MappedValue.CUSTOMER_NAME: customer.name,
            MappedValue.ORDERS_COUNT: str(customer.orders_count),
            MappedValue.TOTAL_SUM: money(customer.total_sum, currency, language),
            MappedValue.AVERAGE_SUM: money(customer.average_sum, currency, language),
            MappedValue.SEGMENTS: ", ".join(customer.segment_names or customer.segments),
        })
    with translation.override(language):
        if customer:
            values[MappedValue.VIP] = gettext("yes") if customer.vip else gettext("no")
        if newest:
            values[MappedValue.LAST_ORDER_STATUS] = status_shown(newest.status_name)
    if newest:
        values[MappedValue.LAST_ORDER_NUMBER] = newest.number
    if context.manager:
        values[MappedValue.MANAGER] = context.manager.name
    # Plain text wherever HDE shows a custom field (integration.tickets.texts).
    return {name: texts.vendor_plain(value) for name, value in values.items()}


def ticket_event_handle(*, event) -> None:
    """new_ticket and new_reply: the whole flow, once per ticket in effect."""
    shop, ticket_id = event.shop, int(event.payload["ticket_id"])
    settings = ShopSettings.of(shop)
    hde, crm = _clients(event)
    ticket = hde.get_ticket(ticket_id)
    if probe_ticket(ticket, shop.helpdeskeddy):
        logger.info("tickets.probe_ticket_ignored", extra={"shop": shop.pk, "ticket": ticket_id})
        return
    # A new ticket stays within three HDE calls: the user record is read
    # only for phone-only contacts, and for a sender whose e-mail RetailCRM
    # does not know (below).
    info = ticket_info_read(hde, ticket, with_phone=False)
    record, _ = TicketRecord.objects.get_or_create(
        shop=shop, ticket_id=ticket_id,
        defaults={"unique_id": ticket.unique_id, "subject": ticket.title[:300],
                  "hde_user_id": ticket.user_id, "opened_at": ticket.date_created,
                  "status": ticket.status_id})
    if right_available(shop, "customer_read"):
        def context_for(info):
            return customer_context_get(
                shop=shop, ticket=info, customer_id=record.customer_id,
                hde_user_id=info.user_id, order_number=record.order_number, interactive=False,
                event=event, deadline=JOB_DEADLINE, raise_errors=True, with_hde_history=False)

        context = context_for(info)
        if context.status == ContextStatus.UNKNOWN and info.email and not info.phone:
            # The e-mail found nobody: the sender's phone (one more HDE read,
            # only now) may still find them, as the card does. Without it the
            # job said "unknown customer", tagged and even created one, while
            # the card offered the customers the phone matches.
            with_phone = ticket_info_read(hde, ticket, with_phone=True)
            if with_phone.phone:
                info = with_phone
                context = context_for(info)
    else:
        # the key may not read customers; the HDE side still runs.
        context = CustomerContext(status=ContextStatus.UNAVAILABLE)
    decision = priority_decide(shop=shop, context=context, ticket=info)
    link = widget_link_build(shop=shop, ticket_id=ticket_id)
    key = f"ticket:{ticket_id}"

    mappings = list(FieldMapping.objects.for_shop(shop))
    # Each field's kind from the ticket itself: HDE reads back every field
    # of the ticket with its `field_type` (§5.3).
    fields = mapped_fields(mappings=mappings, field_kinds=ticket.custom_field_types,
                           context=context, widget_link=link, language=shop.language,
                           currency=shop.currency)
    if settings.crm_card_field_id:
        fields.setdefault(settings.crm_card_field_id, link)
    fields.update(decision.fields)
    send_tags = bool(decision.tags) and hde.tags_supported()
    tags = list(dict.fromkeys([*ticket.tags, *decision.tags]))
    fresh_link_write(shop=shop, settings=settings, hde=hde, record=record)
    put = _putter(hde, record)
    generation = widget_link_generation(shop)

    def update_ticket():
        try:
            updated_id = put(priority_id=decision.priority_id, custom_fields=fields or None,
                             tags=tags if send_tags else None)
        except ApiValidationError as refused:
            # A mapped field deleted in HDE since it was mapped: HDE refuses
            # the whole update. The rest (priority, the card link, the other
            # fields) still goes in; the mapping is the admin's to fix.
            gone = _refused_field_ids(refused, fields)
            if not gone:
                raise
            logger.warning("tickets.fields_refused",
                           extra={"shop": shop.pk, "fields": sorted(gone)})
            kept = {field: value for field, value in fields.items() if field not in gone}
            updated_id = put(priority_id=decision.priority_id, custom_fields=kept or None,
                             tags=tags if send_tags else None)
        if generation and _link_fields(shop, settings, link, mappings):
            # This update wrote the current generation's link.
            side_effect_once(shop=shop, key=f"{key}:hde_link:{generation}",
                             perform=lambda: updated_id)
        return updated_id

    if decision.priority_id or fields or send_tags:
        side_effect_once(shop=shop, key=f"{key}:hde_update", perform=update_ticket)
    # Tags the rules chose that HDE does not take: named in the comment, so
    # operators still see them.
    unsent_tags = [] if send_tags and hde.tags_supported() else list(decision.tags)

    marker = texts.ticket_marker(ticket_id, shop=shop)
    # A signed link carries its signing time, so a retry builds a different
    # one: an earlier attempt's comment is recognised by the shop's widget
    # path (`…/widget/<shop public_id>/`), which only the portal writes.
    shop_widget_prefix = link.rsplit("/", 2)[0] + "/"
    side_effect_once(
        shop=shop, key=f"{key}:hde_comment",
        perform=lambda: hde.add_comment(
            ticket_id, texts.summary_comment(shop=shop, context=context, decision=decision,
                                             widget_link=link, unsent_tags=unsent_tags)).id,
        find_existing=lambda: next((c.id for c in hde.list_comments(ticket_id)
                                    if shop_widget_prefix in c.text), None),
    )
    customer_id, created = _reverse_flow(shop=shop, settings=settings, crm=crm,
                                         context=context, info=info, key=key, link=link,
                                         marker=marker)
    pinned = context.pinned_order_number if any(
        o.number == context.pinned_order_number for o in context.orders) else ""
    TicketRecord.objects.filter(pk=record.pk).update(
        customer_id=customer_id, priority_id=decision.priority_id,
        priority_rule=decision.priority_rule[:200], status=ticket.status_id,
        order_number=record.order_number or pinned,
        # Once created for this ticket, always: a later run (a reply, a
        # retry) that finds the customer did not un-create it.
        customer_created=created or record.customer_created)


def _refused_field_ids(error, fields: dict) -> set:
    """The custom fields HDE named when it refused an update ("Custom field
    99 not found", docs/vendors/helpdeskeddy.md §9.3), among those sent."""
    text = f"{error.message} {json.dumps(error.errors, ensure_ascii=False, default=str)}"
    if not re.search(r"field", text, re.IGNORECASE):
        return set()
    named = {int(number) for number in re.findall(r"\d+", text)}
    return {field for field in fields if int(field) in named}


def _putter(hde, record):
    """One PUT to the ticket, remembering HDE's update time (loop guard)."""
    def put(**changes):
        updated = hde.update_ticket(record.ticket_id, **changes)
        TicketRecord.objects.filter(pk=record.pk).update(
            last_portal_update_at=timezone.now(), portal_update_marker=_marker(updated))
        return updated.id
    return put


def _link_fields(shop, settings, link, mappings=None) -> dict:
    """The ticket's custom fields that hold the card link."""
    if mappings is None:
        mappings = FieldMapping.objects.for_shop(shop)
    fields = {m.hde_field_id: link for m in mappings if m.value == MappedValue.CRM_CARD}
    if settings.crm_card_field_id:
        fields[settings.crm_card_field_id] = link
    return fields


def fresh_link_write(*, shop, settings, hde, record) -> None:
    """After "Revoke all widget links" (a new link generation), the ticket's
    next event writes a fresh link into its CRM card field(s), once per
    generation, even though its first update is long done. Links signed
    before any revocation (an empty generation) are current by definition:
    the first update wrote one."""
    generation = widget_link_generation(shop)
    key = f"ticket:{record.ticket_id}"
    if not generation or not side_effect_done(shop=shop, key=f"{key}:hde_update"):
        return
    fields = _link_fields(shop, settings, widget_link_build(shop=shop,
                                                           ticket_id=record.ticket_id))
    if fields:
        side_effect_once(shop=shop, key=f"{key}:hde_link:{generation}",
                         perform=lambda: _putter(hde, record)(custom_fields=fields))


def _reverse_flow(*, shop, settings, crm, context, info, key, link,
                  marker) -> tuple[int | None, bool]:
    """Tell RetailCRM that support is handling this customer; return the
    ticket's customer id and whether this job created the customer."""
    created = False
    may_write = right_available(shop, "customer_write")  # notes and new customers
    if context.status == ContextStatus.UNKNOWN:
        if not may_write:
            return None, False
        customer_id, created = _customer_for_unknown_sender(shop=shop, settings=settings,
                                                            crm=crm, info=info)
        if customer_id is None:
            return None, False
        in_delivery, performer = [], None  # a customer created just now has no orders
    elif context.status == ContextStatus.FOUND:
        customer_id = context.customer.id
        in_delivery = [o.number for o in context.orders if o.status_group == "delivery"]
        performer = ((context.manager.id if context.manager else None)
                     or settings.fallback_manager_id)
    else:
        return None, False
    if settings.note_on_ticket and may_write:
        side_effect_once(
            shop=shop, key=f"{key}:rcrm_note",
            perform=lambda: crm.create_note(customer_id, texts.customer_note(
                shop=shop, ticket_id=info.id, subject=info.subject)),
            find_existing=lambda: next((n.id for n in crm.customer_notes(customer_id).items
                                        if n.text.startswith(marker + ":")), None),
        )
    if (settings.task_for_orders_in_delivery and in_delivery and performer
            and right_available(shop, "task_write")):
        side_effect_once(
            shop=shop, key=f"{key}:rcrm_task",
            perform=lambda: crm.create_task(
                text=texts.manager_task(shop=shop, ticket_id=info.id, subject=info.subject,
                                        order_numbers=in_delivery),
                performer_id=performer, customer_id=customer_id),
        )
    return customer_id, created


def sender_key(info) -> str:
    """The side-effect key of this ticket's sender (integration.customers.senders)."""
    return senders.sender_key(email=info.email, phone=info.phone, hde_user_id=info.user_id)


def _customer_for_unknown_sender(*, shop, settings, crm, info) -> tuple[int | None, bool]:
    """The customer for a sender RetailCRM did not know when this job
    searched: created once per sender (integration.customers.senders)."""
    if not (settings.create_unknown_customers and (info.email or info.phone)):
        return None, False
    name = texts.vendor_plain(info.email.partition("@")[0] if info.email else info.phone)
    customer = senders.sender_customer_get_or_create(
        shop=shop, crm=crm, email=info.email, phone=info.phone, first_name=name,
        site=settings.customer_site_code, hde_user_id=info.user_id)
    if info.user_id:
        customer_link_set(shop=shop, hde_user_id=info.user_id, customer_id=customer.id)
    return customer.id, customer.created


def _hde_zone(shop):
    """The zone HDE's dates are read in (the shop's, as the client does)."""
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(shop.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _marker(ticket) -> str:
    """HDE's `date_updated` exactly as HDE writes it (and as the dispatcher
    renders `{date_update}`), so a webhook can be matched without a read."""
    return str((ticket.raw or {}).get("date_updated") or "")


def ticket_changed_handle(*, event) -> None:
    """Keep the record current; the closing note goes out once on close."""
    shop, ticket_id = event.shop, int(event.payload["ticket_id"])
    record = TicketRecord.objects.for_shop(shop).filter(ticket_id=ticket_id).first()
    said = str(event.payload.get("date_update") or "")
    status = str(event.payload.get("status") or "")
    if (record and said and status == record.status
            and date_update_matches(said, record.portal_update_marker, _hde_zone(shop))):
        logger.info("tickets.own_change_ignored", extra={"shop": shop.pk, "ticket": ticket_id})
        return  # the echo of our own PUT, told apart without a single HDE call
    hde, crm = _clients(event)
    ticket = hde.get_ticket(ticket_id)
    if record is None and probe_ticket(ticket, shop.helpdeskeddy):
        return  # the contract probe's test ticket: nothing to remember
    if record is None:
        record = TicketRecord.objects.create(
            shop=shop, ticket_id=ticket_id, unique_id=ticket.unique_id,
            subject=ticket.title[:300], hde_user_id=ticket.user_id,
            opened_at=ticket.date_created, status=ticket.status_id)
    if (record.portal_update_marker and record.portal_update_marker == _marker(ticket)
            and record.status == ticket.status_id):
        logger.info("tickets.own_change_ignored", extra={"shop": shop.pk, "ticket": ticket_id})
        return
    updates = {"status": ticket.status_id}
    if ticket.is_closed and record.closed_at is None:
        updates["closed_at"] = ticket.date_updated or timezone.now()
    elif not ticket.is_closed:
        updates["closed_at"] = None
    TicketRecord.objects.filter(pk=record.pk).update(**updates)
    settings = ShopSettings.of(shop)
    if not ticket.is_closed:
        fresh_link_write(shop=shop, settings=settings, hde=hde, record=record)
    if (ticket.is_closed and settings.closing_note and record.customer_id
            and right_available(shop, "customer_write")):
        side_effect_once(
            shop=shop, key=f"ticket:{ticket_id}:rcrm_closing_note",
            perform=lambda: crm.create_note(record.customer_id, texts.closing_note(
                shop=shop, ticket_id=ticket_id, subject=ticket.title)),
        )
