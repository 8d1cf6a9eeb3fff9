"""End to end over real HTTP: the HDE emulator's dispatcher fires the webhook
at the portal, the job runs, and both emulators end in the expected state."""

import re

from django.urls import reverse

from integration.models import (
    ApiCall,
    EventState,
    InboundEvent,
    ShopSettings,
    SideEffect,
    TicketRecord,
)
from integration.vendors import errors
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from sandbox.hde import seed as hde_fields
from sandbox.retailcrm.models import Account as RcAccount
from sandbox.retailcrm.models import Customer, Note, Task
from tests.fixtures_portal import STANDARD, URGENT, pump_dispatcher

_pump_all = pump_dispatcher


def _customer_writes(shop, email, subject):
    """A customer opens a ticket in HDE (through the API, like a mail gateway)."""
    client = HelpDeskEddyClient.for_connection(shop.helpdeskeddy)
    return client.create_ticket(title=subject, description="Здравствуйте!", user_email=email)




def _hde_calls(event):
    return ApiCall.objects.filter(event=event, provider="helpdeskeddy").count()


def test_new_ticket_runs_the_whole_flow_once(wired_shop):
    ticket = _customer_writes(wired_shop, "ivan.petrov@example.ru", "Когда привезут заказ?")
    _pump_all()
    event = InboundEvent.objects.get(shop=wired_shop, event_type="new_ticket")
    assert event.state == EventState.DONE, event.last_error
    assert event.source_key == f"new_ticket:{ticket.id}"

    hde = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy)
    after = hde.get_ticket(ticket.id)
    assert after.priority_id == URGENT  # default rule: order in delivery
    assert "order-in-delivery" in after.tags
    link = after.custom_fields[hde_fields.CRM_CARD]
    assert link.startswith(f"{wired_shop.helpdeskeddy.base_url.split('/sandbox')[0]}/widget/")
    record = TicketRecord.objects.get(shop=wired_shop, ticket_id=ticket.id)
    assert str(after.custom_fields[hde_fields.CUSTOMER_ID]) == str(record.customer_id)
    assert record.priority_rule == "Заказ в доставке"  # the rule's name in the shop's language
    comments = hde.list_comments(ticket.id)
    assert len(comments) == 1 and link in comments[0].text and "Петров Иван" in comments[0].text
    # Read, one PUT, one comment, and, once per connection, the ticket read
    # back after the first update with tags to learn whether HDE applies them.
    assert _hde_calls(event) == 4

    notes = [n.doc["text"] for n in Note.objects.filter(customer_crm_id=record.customer_id)]
    # Named by HDE's ticket number, in the shop's language (issue 16).
    marker = f"Заявка {ticket.unique_id}"
    assert sum(t.startswith(f"{marker}:") for t in notes) == 1
    tasks = [t for t in Task.objects.all()
             if (t.doc.get("customer") or {}).get("id") == record.customer_id]
    assert len(tasks) == 1 and marker in tasks[0].doc["text"]

    # The PUT and the comment fired HDE's own "ticket changed" rule: the
    # portal recognises its own write and makes no call for it.
    changed = InboundEvent.objects.filter(shop=wired_shop, event_type="ticket_changed")
    assert changed.exists()
    assert all(e.state == EventState.DONE and _hde_calls(e) == 0 for e in changed)

    # Tags are known to stick now: the next ticket costs three calls.
    second = _customer_writes(wired_shop, "ivan.petrov@example.ru", "И ещё вопрос")
    _pump_all()
    event = InboundEvent.objects.get(shop=wired_shop, source_key=f"new_ticket:{second.id}")
    assert event.state == EventState.DONE and _hde_calls(event) == 3  # read, PUT, comment


def test_repeated_and_replayed_deliveries_change_nothing(wired_shop, client):
    import base64

    from integration.inbox.events import inbound_events_replay

    ticket = _customer_writes(wired_shop, "olga.k@example.ru", "Курьер не приехал")
    _pump_all()
    effects = SideEffect.objects.filter(shop=wired_shop).count()
    auth = base64.b64encode(f"hde:{wired_shop.webhook_secret}".encode()).decode()
    response = client.post(reverse("hook-hde", args=[wired_shop.public_id]),
                           data={"event": "new_ticket", "ticket_id": ticket.id},
                           content_type="application/json", HTTP_AUTHORIZATION=f"Basic {auth}")
    assert response.json()["duplicate"] is True
    InboundEvent.objects.filter(event_type="new_ticket").update(state=EventState.DEAD)
    inbound_events_replay(queryset=InboundEvent.objects.filter(event_type="new_ticket"))
    assert SideEffect.objects.filter(shop=wired_shop).count() == effects
    hde = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy)
    assert len(hde.list_comments(ticket.id)) == 1


def test_unknown_sender_is_created_in_retailcrm_when_switched_on(wired_shop):
    ShopSettings.objects.filter(shop=wired_shop).update(create_unknown_customers=True)
    ticket = _customer_writes(wired_shop, "newbie@example.org", "Есть ли в наличии?")
    _pump_all()
    record = TicketRecord.objects.get(shop=wired_shop, ticket_id=ticket.id)
    assert record.customer_created and record.customer_id
    created = Customer.objects.get(account__code="demo", crm_id=record.customer_id)
    assert created.email == "newbie@example.org"
    hde = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy)
    assert hde.get_ticket(ticket.id).priority_id == STANDARD  # "Unknown customer" rule


def test_unknown_sender_only_recorded_when_switched_off(wired_shop):
    before = Customer.objects.filter(account__code="demo").count()
    ticket = _customer_writes(wired_shop, "newbie2@example.org", "Вопрос")
    _pump_all()
    record = TicketRecord.objects.get(shop=wired_shop, ticket_id=ticket.id)
    assert record.customer_id is None
    assert Customer.objects.filter(account__code="demo").count() == before


def test_retailcrm_outage_retries_then_completes(wired_shop):
    RcAccount.objects.filter(code="demo").update(fault="500")
    ticket = _customer_writes(wired_shop, "olga.k@example.ru", "Где заказ?")
    _pump_all()
    event = InboundEvent.objects.get(shop=wired_shop, event_type="new_ticket")
    assert event.state == EventState.PENDING and event.next_attempt_at and event.attempts == 1
    assert "RetailCRM" in event.last_error or "HTTP 500" in event.last_error
    RcAccount.objects.filter(code="demo").update(fault="")
    from integration.inbox.events import inbound_event_process
    assert inbound_event_process(event_id=event.pk, now=event.next_attempt_at) == EventState.DONE
    hde = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy)
    assert len(hde.list_comments(ticket.id)) == 1


def test_closing_the_ticket_writes_a_closing_note_once(wired_shop):
    ticket = _customer_writes(wired_shop, "olga.k@example.ru", "Спасибо")
    _pump_all()
    hde = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy)
    hde.update_ticket(ticket.id, status_id="closed")  # an operator closes it
    _pump_all()
    record = TicketRecord.objects.get(shop=wired_shop, ticket_id=ticket.id)
    assert record.status == "closed" and record.closed_at is not None
    notes = [n.doc["text"] for n in Note.objects.filter(customer_crm_id=record.customer_id)]
    # The note on arrival and the closing note, both marked with the ticket.
    assert sum(f"Заявка {ticket.unique_id}" in t for t in notes) == 2
    assert SideEffect.objects.get(shop=wired_shop,
                                  key=f"ticket:{ticket.id}:rcrm_closing_note").state == "done"


def test_out_of_order_change_before_new_ticket(wired_shop, client):
    """A "changed" delivery that overtakes "new ticket" only opens the
    record; the new-ticket event then runs the whole flow."""
    import base64

    from sandbox.hde.models import Delivery

    hde = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy)
    ticket = hde.create_ticket(title="Вопрос", description="…", user_email="olga.k@example.ru")
    Delivery.objects.all().delete()  # the dispatcher's own deliveries are "late"
    auth = "Basic " + base64.b64encode(f"hde:{wired_shop.webhook_secret}".encode()).decode()
    url = reverse("hook-hde", args=[wired_shop.public_id])
    changed = client.post(url, {"event": "ticket_changed", "ticket_id": ticket.id,
                                "date_update": "x", "status": "open"},
                          content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert InboundEvent.objects.get(pk=changed.json()["event_id"]).state == EventState.DONE
    assert TicketRecord.objects.get(shop=wired_shop, ticket_id=ticket.id).customer_id is None
    new = client.post(url, {"event": "new_ticket", "ticket_id": ticket.id},
                      content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert InboundEvent.objects.get(pk=new.json()["event_id"]).state == EventState.DONE
    assert TicketRecord.objects.get(shop=wired_shop, ticket_id=ticket.id).customer_id
    assert len(hde.list_comments(ticket.id)) == 1


def test_crash_between_call_and_record_does_not_duplicate(wired_shop):
    """The worker died after HDE stored the comment but before the portal
    recorded it: the retry finds the comment instead of posting again."""
    from integration.inbox.events import inbound_event_process
    from integration.models import SideEffectState

    ticket = _customer_writes(wired_shop, "olga.k@example.ru", "Где заказ?")
    _pump_all()
    event = InboundEvent.objects.get(shop=wired_shop, event_type="new_ticket")
    SideEffect.objects.filter(shop=wired_shop).update(state=SideEffectState.STARTED)
    InboundEvent.objects.filter(pk=event.pk).update(state=EventState.PENDING)
    assert inbound_event_process(event_id=event.pk) == EventState.DONE
    hde = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy)
    assert len(hde.list_comments(ticket.id)) == 1
    record = TicketRecord.objects.get(shop=wired_shop, ticket_id=ticket.id)
    notes = [n.doc["text"] for n in Note.objects.filter(customer_crm_id=record.customer_id)]
    assert sum(t.startswith(f"Заявка {ticket.unique_id}:") for t in notes) == 1


def test_hde_ban_postpones_until_it_lifts(wired_shop):
    from integration.inbox.events import inbound_event_process
    from sandbox.hde.models import Account as HdeAccount

    ticket = _customer_writes(wired_shop, "olga.k@example.ru", "Где заказ?")
    HdeAccount.objects.filter(code="demo").update(rate_limit_per_minute=1, ban_seconds=600)
    _pump_all()
    event = InboundEvent.objects.get(shop=wired_shop, event_type="new_ticket")
    assert event.state == EventState.PENDING
    assert event.last_error == f"HelpDeskEddy: {errors.BANNED}"  # fixed words, read translated
    assert (event.next_attempt_at - event.updated_at).total_seconds() > 60
    received = HdeAccount.objects.get(code="demo").requests_received
    assert inbound_event_process(event_id=event.pk, now=event.next_attempt_at) in (
        EventState.PENDING, None)
    # No call reached HDE while the ban is on.
    assert HdeAccount.objects.get(code="demo").requests_received == received
    assert ticket.id


def test_refused_key_parks_the_event_and_flags_the_connection(wired_shop):
    from integration.models import ConnectionStatus

    ticket = _customer_writes(wired_shop, "olga.k@example.ru", "Где заказ?")
    connection = wired_shop.helpdeskeddy
    connection.api_key = "revoked-key-000"
    connection.save()
    _pump_all()
    event = InboundEvent.objects.get(shop=wired_shop, event_type="new_ticket")
    assert event.state == EventState.PARKED and ticket.id
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_ATTENTION


def test_mapped_fields_are_written_as_each_field_kind_reads(wired_shop):
    """The same customer facts into fields of different kinds: a number
    field gets the plain number (what HDE accepts there), a checkbox 1 or 0,
    a text field the words an operator reads, in the shop's currency and
    language ("7 220 ₽", "да"), never "7220.00" or "1"."""
    from integration.models import FieldMapping, MappedValue
    from sandbox.hde.models import Account as HdeAccount
    from sandbox.hde.models import CustomField

    desk = HdeAccount.objects.get(code="demo")
    spent_text = CustomField.objects.create(account=desk, hid=91, field_type="text",
                                            name={"ru": "Потрачено", "en": "Spent"})
    vip_text = CustomField.objects.create(account=desk, hid=92, field_type="text",
                                          name={"ru": "VIP?", "en": "VIP?"})
    vip_box = CustomField.objects.create(account=desk, hid=93, field_type="checkbox",
                                         name={"ru": "VIP", "en": "VIP"})
    for value, field_id in ((MappedValue.TOTAL_SUM, hde_fields.TOTAL_SPENT),
                            (MappedValue.AVERAGE_SUM, spent_text.hid),
                            (MappedValue.VIP, vip_text.hid)):
        FieldMapping.objects.create(shop=wired_shop, value=value, hde_field_id=field_id)
    FieldMapping.objects.create(shop=wired_shop, value=MappedValue.VIP,
                                hde_field_id=vip_box.hid)

    ticket = _customer_writes(wired_shop, "anna.smirnova@example.ru", "Вопрос по заказу")
    _pump_all()
    fields = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy).get_ticket(
        ticket.id).custom_fields
    assert re.fullmatch(r"\d+(\.\d{1,2})?", str(fields[hde_fields.TOTAL_SPENT])), fields
    assert re.fullmatch(r"\d{1,3}(\xa0\d{3})*(,\d\d)?\xa0₽", fields[spent_text.hid]), fields
    assert fields[vip_text.hid] == "да" and fields[vip_box.hid] == 1
