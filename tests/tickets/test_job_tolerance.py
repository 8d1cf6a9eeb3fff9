"""The ticket job under every answer the HDE emulator can give to the open
questions (docs/vendors/open-questions.md H-1, H-3), end to end over real
HTTP: the dispatcher calls the portal, the job runs, HDE ends as expected.

Issue 15 bugs covered here: unknown senders blanked mapped custom fields;
reconciliation back-filled only `open` and `process`.
"""

import pytest
from django.utils import timezone

from integration.inbox.events import inbound_events_replay
from integration.models import ApiCall, EventState, InboundEvent, ShopSettings
from integration.ops.health import shops_health
from integration.tickets.reconcile import tickets_reconcile
from integration.vendors import facts
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from integration.vendors.helpdeskeddy_parsing import date_update_matches
from sandbox.hde import seed as hde_fields
from sandbox.hde.behaviour import set_behaviour
from tests.fixtures_portal import URGENT, pump_dispatcher

TAGS_ON_UPDATE = ["stick", "append", "refuse", "ignore"]


def _writes(shop, email, subject):
    hde = HelpDeskEddyClient.for_connection(shop.helpdeskeddy)
    return hde, hde.create_ticket(title=subject, description="Здравствуйте!", user_email=email)


def _calls(event, method=None):
    calls = ApiCall.objects.filter(event=event, provider="helpdeskeddy")
    return calls.filter(method=method).count() if method else calls.count()


@pytest.mark.parametrize("answer", TAGS_ON_UPDATE)
def test_priority_and_fields_are_written_whatever_hde_does_with_tags(wired_shop, answer):
    set_behaviour("demo", tags_on_update=answer)
    hde, ticket = _writes(wired_shop, "ivan.petrov@example.ru", "Когда привезут заказ?")
    pump_dispatcher()

    event = InboundEvent.objects.get(shop=wired_shop, source_key=f"new_ticket:{ticket.id}")
    assert event.state == EventState.DONE, event.last_error
    after = hde.get_ticket(ticket.id)
    assert after.priority_id == URGENT  # rule "Order in delivery"
    assert after.custom_fields[hde_fields.CRM_CARD]
    assert after.custom_fields[hde_fields.CUSTOMER_ID]
    comment = hde.list_comments(ticket.id)[0].text
    learned = facts.fact_answer(wired_shop.helpdeskeddy, facts.HDE_TAGS_ON_UPDATE)
    notices = shops_health(shops=type(wired_shop).objects.filter(pk=wired_shop.pk))[0].notices
    if answer in ("stick", "append"):
        assert "order-in-delivery" in after.tags and learned == "stick"
        assert "не принимает" not in comment
        assert not any("Tags not supported" in line for line in notices)
    else:
        assert "order-in-delivery" not in after.tags
        assert learned == {"refuse": "refused", "ignore": "ignored"}[answer]
        # Operators still see what the rules chose (the shop writes Russian).
        assert "order-in-delivery" in comment and "HelpDeskEddy здесь их не принимает" in comment
        assert any("Tags not supported" in line for line in notices)

    # The next ticket: known now, so one PUT without tags and no re-read.
    _, second = _writes(wired_shop, "ivan.petrov@example.ru", "Ещё вопрос")
    pump_dispatcher()
    event = InboundEvent.objects.get(shop=wired_shop, source_key=f"new_ticket:{second.id}")
    assert event.state == EventState.DONE, event.last_error
    assert _calls(event, "PUT") == 1 and _calls(event) == 3
    assert hde.get_ticket(second.id).priority_id == URGENT


def test_a_refusal_that_is_not_about_tags_is_not_blamed_on_them(hde_client, hde_emulator):
    """An unknown custom field is refused with or without tags: the error
    stands, and nothing is learned about tags."""
    from integration.vendors.errors import ApiValidationError

    set_behaviour("demo", tags_on_update="refuse", unknown_custom_fields="refuse")
    with pytest.raises(ApiValidationError):
        hde_client.update_ticket(3, custom_fields={999: "x"}, tags=["vip"])
    assert facts.fact_answer(hde_client.connection, facts.HDE_TAGS_ON_UPDATE) == ""


def test_tags_known_refused_on_create_are_left_out(hde_client, hde_emulator):
    """Proactive tickets: once the connection knows HDE refuses tags on
    create, the ticket is created without them (and the rest as asked)."""
    facts.fact_set(hde_client.connection, facts.HDE_TAGS_ON_CREATE, facts.TAGS_REFUSED)
    ticket = hde_client.create_ticket(title="Проблема с доставкой", description="Заказ 1003A",
                                      user_email="someone@example.org", priority_id=1,
                                      tags=["proactive"], create_from_user=False)
    assert ticket.tags == [] and ticket.priority_id == 1
    assert hde_client.tags_unsent == ["proactive"]
    request = ApiCall.objects.filter(method="POST").get()
    assert request.outcome == "ok"


def test_tags_on_create_are_checked_once(hde_client, hde_emulator):
    ticket = hde_client.create_ticket(title="Проблема", description="Заказ",
                                      user_email="someone@example.org", tags=["proactive"])
    assert ticket.tags == ["proactive"]
    assert facts.fact_answer(hde_client.connection, facts.HDE_TAGS_ON_CREATE) == "stick"


def test_an_unknown_sender_never_blanks_what_an_operator_typed(wired_shop):
    hde, ticket = _writes(wired_shop, "stranger@example.org", "Вопрос о доставке")
    # Before the job runs, an operator types into two mapped fields.
    hde.update_ticket(ticket.id, custom_fields={hde_fields.LAST_ORDER_STATUS: "спросить",
                                                hde_fields.ORDERS_COUNT: 7})
    pump_dispatcher()
    event = InboundEvent.objects.get(shop=wired_shop, source_key=f"new_ticket:{ticket.id}")
    assert event.state == EventState.DONE, event.last_error
    after = hde.get_ticket(ticket.id)
    assert after.custom_fields[hde_fields.LAST_ORDER_STATUS] == "спросить"
    assert after.custom_fields[hde_fields.ORDERS_COUNT] == 7
    assert after.custom_fields[hde_fields.CRM_CARD]  # the link is always written
    assert not after.custom_fields.get(hde_fields.CUSTOMER_ID)


@pytest.mark.parametrize("style, zone", [
    ("ymd_hms", "local"), ("ymd_hm", "local"), ("dmy_hm", "local"), ("dmy_hms", "utc"),
    ("unix", "local"), ("ymd_hm", "utc"),
])
def test_the_loop_guard_knows_its_own_change_in_every_format(wired_shop, style, zone):
    set_behaviour("demo", date_update_format=style, date_update_timezone=zone)
    hde, ticket = _writes(wired_shop, "olga.k@example.ru", "Курьер не приехал")
    pump_dispatcher()
    changed = InboundEvent.objects.filter(shop=wired_shop, event_type="ticket_changed")
    assert changed.exists()
    # The echo of the portal's own PUT: recognised without a single call.
    assert all(e.state == EventState.DONE and _calls(e) == 0 for e in changed), [
        (e.payload, _calls(e)) for e in changed]

    # An operator's change minutes later (same status) is not mistaken for ours.
    from datetime import timedelta

    import time_machine

    seen = set(changed.values_list("pk", flat=True))
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=True):
        hde.update_ticket(ticket.id, custom_fields={hde_fields.LAST_ORDER_STATUS: "уточнить"})
        pump_dispatcher()
    operator = InboundEvent.objects.filter(shop=wired_shop, event_type="ticket_changed") \
        .exclude(pk__in=seen)
    assert operator.count() == 1 and _calls(operator.get()) >= 1


@pytest.mark.parametrize("said, precise", [
    ("2026-11-20 09:30:05", True), ("2026-11-20 09:30", False), ("20.11.2026 09:30", False),
    ("20.11.2026 09:30:05", True), ("2026-11-20 06:30:05", True), ("20.11.2026 06:30", False),
])
def test_date_update_is_compared_at_the_precision_both_have(said, precise):
    from zoneinfo import ZoneInfo

    msk = ZoneInfo("Europe/Moscow")
    marker = "2026-11-20 09:30:05"  # the API's date_updated, Moscow time (06:30:05 UTC)
    assert date_update_matches(said, marker, msk)
    # One second off: a different update wherever the webhook carries seconds.
    assert date_update_matches(said, "2026-11-20 09:30:06", msk) is not precise
    assert not date_update_matches(said, "2026-11-20 09:31:05", msk)
    epoch = str(int(__import__("datetime").datetime(2026, 11, 20, 6, 30, 5,
                                                     tzinfo=ZoneInfo("UTC")).timestamp()))
    assert date_update_matches(epoch, marker, msk)
    assert not date_update_matches("", marker, msk) and not date_update_matches("x", marker, msk)


def test_reconciliation_back_fills_custom_open_statuses(demo_shop):
    hde = HelpDeskEddyClient.for_connection(demo_shop.helpdeskeddy)
    custom = hde.create_ticket(title="Ждёт склада", description="…", user_email="a@example.org")
    hde.update_ticket(custom.id, status_id="6")  # the account's own status
    closed = hde.create_ticket(title="Решено", description="…", user_email="b@example.org")
    hde.update_ticket(closed.id, status_id="closed")
    fresh = hde.create_ticket(title="Новая", description="…", user_email="c@example.org")
    ShopSettings.objects.filter(shop=demo_shop).update(reconciled_until=None)

    tickets_reconcile(shop=demo_shop, max_pages=5)

    keys = set(InboundEvent.objects.filter(shop=demo_shop).values_list("source_key", flat=True))
    assert f"new_ticket:{custom.id}" in keys and f"new_ticket:{fresh.id}" in keys
    assert f"new_ticket:{closed.id}" not in keys


def test_a_mapped_field_deleted_in_hde_does_not_stop_the_ticket(wired_shop):
    """HDE refuses a whole update naming one unknown custom field (a field
    deleted in HDE after it was mapped): the job writes everything else —
    priority, the card link, the other fields, the comment — instead of
    giving the ticket up."""
    from integration.models import FieldMapping

    set_behaviour("demo", unknown_custom_fields="refuse")
    FieldMapping.objects.filter(shop=wired_shop, hde_field_id=hde_fields.CUSTOMER_ID).update(
        hde_field_id=99)  # no such field in HDE any more
    hde, ticket = _writes(wired_shop, "ivan.petrov@example.ru", "Когда привезут заказ?")
    pump_dispatcher()

    event = InboundEvent.objects.get(shop=wired_shop, source_key=f"new_ticket:{ticket.id}")
    assert event.state == EventState.DONE, event.last_error
    after = hde.get_ticket(ticket.id)
    assert after.priority_id == URGENT
    assert after.custom_fields[hde_fields.CRM_CARD]
    assert 99 not in after.custom_fields and "99" not in after.custom_fields
    assert len(hde.list_comments(ticket.id)) == 1


def test_a_job_without_the_status_book_writes_no_codes_and_tries_again(wired_shop):
    """The ticket job needs RetailCRM's reference books: without the status
    book it wrote the order's status code into HDE ("delivering") and its
    rules by status group matched nothing. The key here loses the right to
    read them on RetailCRM's side (the portal has not learned it yet): the
    job writes nothing and the event waits for its retry; with the right
    back, the retry writes names and the rule's priority."""
    from sandbox.retailcrm.models import ApiKey

    key = ApiKey.objects.get(key=wired_shop.retailcrm.api_key)
    scopes = list(key.scopes)
    ApiKey.objects.filter(pk=key.pk).update(
        scopes=[scope for scope in scopes if scope != "reference_read"])
    hde, ticket = _writes(wired_shop, "ivan.petrov@example.ru", "Когда привезут заказ?")
    pump_dispatcher()

    event = InboundEvent.objects.get(shop=wired_shop, source_key=f"new_ticket:{ticket.id}")
    assert event.state == EventState.PARKED, event.last_error  # a key's right needs a person
    untouched = hde.get_ticket(ticket.id)
    assert not untouched.custom_fields.get(hde_fields.LAST_ORDER_STATUS)
    assert hde.list_comments(ticket.id) == []

    # The right given back, the person replays the event.
    ApiKey.objects.filter(pk=key.pk).update(scopes=scopes)
    inbound_events_replay(queryset=InboundEvent.objects.filter(pk=event.pk))
    event.refresh_from_db()
    assert event.state == EventState.DONE, event.last_error
    after = hde.get_ticket(ticket.id)
    assert after.custom_fields[hde_fields.LAST_ORDER_STATUS] == "Доставляется"
    assert after.priority_id == URGENT
    [comment] = hde.list_comments(ticket.id)
    assert "Доставляется" in comment.text and "delivering" not in comment.text


def test_a_status_created_after_the_books_were_read_is_named_not_coded(wired_shop):
    """A manager creates a status in RetailCRM and moves Иван's order into
    it after the portal cached the reference books (an hour). The next
    ticket's job reads the books again because one of the orders is in a
    status they do not name: HDE gets the status's name and the rule by
    status group still holds, never the code ("courier-assigned"). The
    books are read again once, not for every ticket."""
    from datetime import timedelta

    import time_machine

    from tests.workers import crm_order_move, crm_status_create

    hde, first = _writes(wired_shop, "ivan.petrov@example.ru", "Когда привезут заказ?")
    pump_dispatcher()
    assert hde.get_ticket(first.id).custom_fields[hde_fields.LAST_ORDER_STATUS] == "Доставляется"

    crm_status_create("courier-assigned", "Передан курьеру")
    crm_order_move("ivan.petrov@example.ru", "delivering", "courier-assigned")

    def status_reads():
        return ApiCall.objects.filter(shop=wired_shop, provider="retailcrm",
                                      path__contains="/api/v5/reference/statuses").count()

    reads_before = status_reads()
    # Past the card's cache (a minute), well inside the books' hour.
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=True):
        _, second = _writes(wired_shop, "ivan.petrov@example.ru", "Где курьер?")
        _, third = _writes(wired_shop, "ivan.petrov@example.ru", "Курьер не звонил")
        pump_dispatcher()

    for ticket in (second, third):
        event = InboundEvent.objects.get(shop=wired_shop, source_key=f"new_ticket:{ticket.id}")
        assert event.state == EventState.DONE, event.last_error
        after = hde.get_ticket(ticket.id)
        assert after.custom_fields[hde_fields.LAST_ORDER_STATUS] == "Передан курьеру"
        assert after.priority_id == URGENT  # the rule by group "delivery"
        [comment] = hde.list_comments(ticket.id)
        assert "Передан курьеру" in comment.text and "courier-assigned" not in comment.text
    assert status_reads() - reads_before == 1
