"""A tenant's regular expression (the order number pattern) cannot tie up
the shared workers: catastrophic patterns are refused when saved, and any
pattern, however it got into the database, runs on bounded input under a
time limit (integration.core.tenant_regex).

The pattern `^(\\d+)+$` on thirty digits and an "x" backtracks 2^30 times
under Python's `re`: minutes of a worker's time per ticket.
"""

import time

import pytest

from integration.core.tenant_regex import MAX_INPUT_CHARS, tenant_search
from integration.models import EventState, InboundEvent, ShopSettings, TicketRecord
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from tests.fixtures_portal import pump_dispatcher
from tests.security.conftest import form_data, formset_errors, shop_url

EVIL = r"^(\d+)+$"
HOSTILE_SUBJECT = "1" * 30 + "x"
DEFAULT = r"\b(\d{3,10}[A-Za-zА-Яа-я]{0,3})\b"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("pattern,reason", [
    (EVIL, "repetition"),
    (r"(?:\d|\d\d)+x", "repetition"),             # overlapping alternation, repeated
    (r"((a+)?b?)*c", "repetition"),
    (r"(\d+)\1", "Back-references"),
    (r"\d*\d*\d*\d*\d*\d*\d*\d*y", "too slow"),   # no nesting, still polynomial blow-up
    ("(" * 3, "not a valid"),
    (r"\d" * 101, "at most 200"),
])
def test_the_shop_page_refuses_catastrophic_patterns(demo_shop, owner_client, pattern,
                                                    reason):
    client = owner_client(demo_shop)
    url = shop_url(demo_shop)
    response = client.post(url, form_data(client.get(url), **{
        "settings-0-order_number_pattern": pattern}))
    assert response.status_code == 200
    errors = formset_errors(response, "settings")
    assert reason in " ".join(errors.get("order_number_pattern", [])), errors
    assert ShopSettings.of(demo_shop).order_number_pattern != pattern


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("pattern", [DEFAULT, r"#(\d{4,8})", r"(?i)order\s*(\w{3,12})",
                                     r"(?:\d{3}-)+\d{2}"])
def test_ordinary_patterns_are_accepted(demo_shop, owner_client, pattern):
    ShopSettings.objects.filter(shop=demo_shop).delete()
    ShopSettings.objects.create(shop=demo_shop, order_number_pattern=r"(\d+)")
    client = owner_client(demo_shop)
    url = shop_url(demo_shop)
    response = client.post(url, form_data(client.get(url), **{
        "settings-0-order_number_pattern": pattern}))
    assert response.status_code == 302, formset_errors(response, "settings")
    assert ShopSettings.objects.get(shop=demo_shop).order_number_pattern == pattern


def test_a_pattern_stored_before_the_check_runs_bounded_in_the_ticket_job(wired_shop):
    """A catastrophic pattern already in the database (saved before these
    checks) meets a hostile subject through the real path: HDE's webhook,
    the job, the customer context. The job finishes at once and the ticket
    is handled by e-mail as usual."""
    ShopSettings.objects.filter(shop=wired_shop).update(order_number_pattern=EVIL)
    client = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy)
    started = time.monotonic()
    ticket = client.create_ticket(title=HOSTILE_SUBJECT, description=HOSTILE_SUBJECT,
                                  user_email="ivan.petrov@example.ru")
    pump_dispatcher()
    elapsed = time.monotonic() - started
    event = InboundEvent.objects.get(shop=wired_shop, event_type="new_ticket")
    assert event.state == EventState.DONE, event.last_error
    record = TicketRecord.objects.get(shop=wired_shop, ticket_id=ticket.id)
    assert record.customer_id and record.order_number == ""
    assert elapsed < 20  # the unbounded search alone takes minutes


def test_evaluation_is_bounded_in_input_and_time():
    started = time.monotonic()
    assert tenant_search(EVIL, HOSTILE_SUBJECT) is None
    assert time.monotonic() - started < 1
    # Only the start of a long text is searched.
    assert tenant_search(r"(NEEDLE)", "x" * MAX_INPUT_CHARS + "NEEDLE") is None
    assert tenant_search(r"(NEEDLE)", "x" * 100 + "NEEDLE").group(1) == "NEEDLE"
    assert tenant_search(DEFAULT, "Где мой заказ 1001A?").group(1) == "1001A"
