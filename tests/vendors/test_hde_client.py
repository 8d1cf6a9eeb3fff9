"""The HelpDeskEddy client against the emulator over real HTTP.

Why: every method the portal relies on is exercised end to end, including
the normalisation of HDE's irregular JSON (keyed lists, localised names,
three date formats, numbers as strings) and the mapping of each failure to
the error class a job acts on. Rows in `ApiCall` are checked because they
are what an admin reads when something goes wrong.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from integration.models import ApiCall, ConnectionStatus
from integration.vendors.errors import (
    ApiNotFound,
    ApiRateLimited,
    ApiServerError,
    ApiTimeoutError,
    ApiUnauthorized,
    ApiUnexpectedResponse,
    ApiValidationError,
)
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from integration.vendors.helpdeskeddy_parsing import Ref
from sandbox.hde import services as svc
from sandbox.hde.models import Account, HdeUser
from sandbox.hde.seed import CRM_CARD, ORDERS_COUNT, SEGMENT, TOTAL_SPENT

MSK = ZoneInfo("Europe/Moscow")


def received(code="demo") -> int:
    return Account.objects.get(code=code).requests_received


def test_test_connection_stores_key_owner_and_logs_the_call(hde_client, hde_emulator):
    summary = hde_client.test_connection()

    hde_client.connection.refresh_from_db()
    assert hde_client.connection.hde_user_id == hde_emulator.demo["agent_user_id"] == 1
    assert "(agent" in summary and "#" not in summary  # the user's name, never an id
    assert "299 of 300" in summary  # the emulator's X-Rate-Limit-Remaining after one call
    call = ApiCall.objects.get()
    assert (call.provider, call.method, call.status_code, call.outcome) == (
        "helpdeskeddy", "GET", 200, "ok")
    assert call.path.startswith("/sandbox/hde/demo/api/v2/users/?search=")
    assert hde_client.connection.api_key not in call.path


def test_a_non_agent_key_owner_is_reported(hde_connect, hde_emulator):
    account = hde_emulator.account()
    HdeUser.objects.filter(account=account, email="opt@example.ru").update(api_key="client-key-1")
    client = HelpDeskEddyClient.for_connection(
        hde_connect(email="opt@example.ru", key="client-key-1"))
    assert "client (not an agent!)" in client.test_connection()


def test_get_ticket_normalises_dates_ids_and_custom_fields(hde_client, hde_emulator):
    account = hde_emulator.account()
    ticket = svc.get_ticket(account, 5)
    svc.update_ticket(account, ticket, {
        "custom_fields": {str(CRM_CARD): "https://portal.example/w/abc", str(ORDERS_COUNT): 3,
                          str(TOTAL_SPENT): "12500.50", str(SEGMENT): 1},
        "tags": ["vip", "delivery"], "sla_date": "21.11.2026 18:30",
    }, svc.Actor(HdeUser.objects.get(account=account, hid=1)))

    got = hde_client.get_ticket(5)

    assert got.id == 5 and got.title == "Заказ 1004A задерживается"
    assert got.status_id == "process" and got.priority_id == 2 and got.type_id == 0
    assert got.owner_id == 2 and got.user_email == "d.sokolov@example.ru"
    # §2: "YYYY-MM-DD HH:MM:SS" and "DD.MM.YYYY HH:MM", in the shop's zone.
    assert got.date_created == datetime(2026, 11, 21, 0, 0, tzinfo=MSK)
    assert got.sla_date == datetime(2026, 11, 21, 18, 30, tzinfo=MSK)
    assert got.custom_fields[CRM_CARD] == "https://portal.example/w/abc"
    assert got.custom_fields[ORDERS_COUNT] == 3  # sent back as the string "3"
    assert got.custom_fields[TOTAL_SPENT] == 12500.5
    assert got.custom_fields[SEGMENT] == Ref(1, "VIP")
    assert got.custom_fields[2] is None  # empty text field
    assert got.tags == ["vip", "delivery"]
    assert got.raw["freeze_date"] == "null"


def test_list_tickets_turns_the_keyed_object_into_pages(hde_client, hde_emulator):
    account = hde_emulator.account()
    agent = svc.Actor(HdeUser.objects.get(account=account, hid=1))
    for n in range(20):  # 13 seeded + 20 = 33 → two pages of 30
        svc.create_ticket(account, {"title": f"Filler {n}", "description": "x",
                                    "user_email": "filler@example.org"}, agent)

    first = hde_client.list_tickets()
    second = hde_client.list_tickets(page=2)

    assert (first.total, first.total_pages, len(first.items)) == (33, 2, 30)
    assert len(second.items) == 3
    ids = [t.id for t in first.items + second.items]
    assert ids == sorted(ids, reverse=True)  # default order date_created{desc}
    assert first.items[0].title == "Filler 19"


def test_user_tickets_lists_open_ones_first(hde_client):
    anna = hde_client.find_users_by_email("anna.smirnova@example.ru")[0]

    tickets = hde_client.user_tickets(anna.id)

    assert [(t.id, t.is_closed) for t in tickets] == [(2, False), (1, True)]


def test_update_ticket_sends_everything_in_one_put(hde_client, hde_emulator):
    before = received()

    ticket = hde_client.update_ticket(
        3, priority_id=1, status_id="process", owner_id=2,
        custom_fields={CRM_CARD: "https://portal.example/w/x", ORDERS_COUNT: 1,
                       SEGMENT: Ref(3, "")},
        tags=["delivery-problem"],
    )

    # One PUT; the first update with tags on a connection also reads the
    # ticket back once, to learn whether HDE applies tags at all (H-1).
    assert received() == before + 2
    assert [c.method for c in ApiCall.objects.order_by("pk")] == ["PUT", "GET"]
    assert (ticket.priority_id, ticket.status_id, ticket.owner_id) == (1, "process", 2)
    assert ticket.custom_fields[CRM_CARD] == "https://portal.example/w/x"
    assert ticket.custom_fields[SEGMENT].id == 3
    assert ticket.tags == ["delivery-problem"]
    # Tags replace, custom fields merge by id (§5.5); now known to stick:
    # one PUT and nothing else.
    again = hde_client.update_ticket(3, tags=["vip"], custom_fields={ORDERS_COUNT: 2})
    assert received() == before + 3
    assert again.tags == ["vip"] and again.custom_fields[CRM_CARD] == "https://portal.example/w/x"
    with pytest.raises(ValueError):
        hde_client.update_ticket(3)


def test_create_ticket_creates_the_unknown_client(hde_client, hde_emulator):
    ticket = hde_client.create_ticket(
        title="Проблема с доставкой заказа 1003A", description="<p>Статус: проблема</p>",
        user_email="brand.new@example.org", priority_id=1, custom_fields={ORDERS_COUNT: 2},
        tags=["proactive"], create_from_user=False,
    )

    assert ticket.id == 14 and ticket.priority_id == 1 and ticket.tags == ["proactive"]
    user = hde_client.get_user(ticket.user_id)
    assert user.email == "brand.new@example.org" and not user.is_staff
    posts = hde_client.list_posts(ticket.id)
    assert [(p.text, p.user_id) for p in posts] == [("<p>Статус: проблема</p>", 1)]


def test_comments_and_posts_are_sent_as_form_fields(hde_client, hde_emulator):
    comment = hde_client.add_comment(4, "<b>RetailCRM</b>: 2 заказа")
    post = hde_client.add_post(4, "Мы разбираемся.")

    assert comment.is_comment and comment.user_id == 1 and comment.ticket_id == 4
    assert not post.is_comment
    # §6 post dates are "HH:MM:SS DD.MM.YYYY": parsed into aware datetimes.
    assert comment.date_created.tzinfo == MSK
    assert [c.text for c in hde_client.list_comments(4)] == ["<b>RetailCRM</b>: 2 заказа"]
    texts = [p.text for p in hde_client.list_posts(4)]
    assert texts == ["<p>Ждала весь день, курьера так и не было.</p>", "Мы разбираемся."]


def test_deleting_a_comment_reads_the_success_inside_the_errors_array(hde_client, hde_raw):
    comment = hde_client.add_comment(4, "outdated summary")

    details = hde_client.delete_comment(4, comment.id)

    assert details == (f"Comment with id {{{comment.id}}} in ticket with id {{4}} "
                       "successfully deleted")
    assert hde_client.list_comments(4) == []
    raw = hde_raw("DELETE", f"tickets/4/comments/{comment.id}/")
    assert raw.status_code == 404 and raw.json()["errors"][0]["code"] == "e-404"
    with pytest.raises(ApiNotFound):
        hde_client.delete_comment(4, comment.id)


def test_find_users_by_email_is_exact_and_phone_only_contacts_have_no_real_email(hde_client):
    assert [u.email for u in hde_client.find_users_by_email("Anna.Smirnova@example.ru")] == [
        "anna.smirnova@example.ru"]
    assert hde_client.find_users_by_email("smirnova") == []
    page = hde_client.search_users("Новиков")
    sergey = page.items[0]
    assert sergey.email == "79992223344@phone.invalid" and sergey.real_email == ""
    assert sergey.phone == "8-999-222-33-44"
    assert hde_client.get_user(sergey.id).full_name == "Сергей Новиков"


def test_dictionaries_are_localised_and_cached_per_account_host(hde_client, hde_connect,
                                                                  make_agency, make_shop):
    priorities = hde_client.priorities()
    assert [(p.id, p.name) for p in priorities] == [
        (1, "Very urgent"), (2, "Standard"), (3, "Medium"), (4, "Low")]
    assert [s.id for s in hde_client.statuses()] == ["open", "process", "6", "closed"]
    assert [t.id for t in hde_client.ticket_types()] == [0, 1, 2, 3]
    assert [d.name for d in hde_client.departments()] == ["Support", "Sales"]
    fields = hde_client.custom_fields()
    assert [(f.id, f.name, f.field_type) for f in fields][:2] == [
        (1, "CRM card", "text"), (2, "RetailCRM customer id", "text")]
    assert hde_client.custom_field_id("Карточка CRM") == hde_client.custom_field_id("crm card") == 1
    calls = ApiCall.objects.count()
    assert calls == 5

    # Another shop (Russian) on the same HDE account reuses the cache.
    other_shop = make_shop(make_agency("Other agency"), name="Other", language="ru")
    other = HelpDeskEddyClient.for_connection(hde_connect(shop=other_shop))
    assert [p.name for p in other.priorities()][:2] == ["Срочно", "Стандартно"]
    assert ApiCall.objects.count() == calls
    other.forget_reference()
    other.priorities()
    assert ApiCall.objects.count() == calls + 1


def test_unknown_ticket_is_not_found(hde_client):
    with pytest.raises(ApiNotFound) as caught:
        hde_client.get_ticket(999)
    assert "Ticket with id {999} not found" in str(caught.value)
    assert ApiCall.objects.get().outcome == "not_found"


def test_wrong_key_is_unauthorized_and_flags_the_connection(hde_connect):
    connection = hde_connect(key="wrong-key-123456")
    with pytest.raises(ApiUnauthorized):
        HelpDeskEddyClient.for_connection(connection).get_ticket(1)
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_ATTENTION
    assert "wrong-key-123456" not in connection.last_error
    assert "wrong-key-123456" not in ApiCall.objects.get().error


def test_invalid_input_is_a_validation_error(hde_client):
    with pytest.raises(ApiValidationError) as caught:
        hde_client.update_ticket(2, priority_id=42)
    assert caught.value.errors[0]["code"] == "e-400"
    with pytest.raises(ApiValidationError):
        hde_client.update_ticket(2, custom_fields={777: "x"})


def test_server_error_on_a_write_is_not_retried(hde_client, hde_emulator):
    Account.objects.filter(code="demo").update(fault_kind="500", fault_next=1)
    before = received()
    with pytest.raises(ApiServerError):
        hde_client.add_comment(2, "x")
    assert received() == before + 1


def test_a_503_on_a_read_is_retried_with_its_own_log_row(hde_client, hde_emulator):
    Account.objects.filter(code="demo").update(fault_kind="503", fault_next=1)

    assert hde_client.get_ticket(2).id == 2

    assert [c.outcome for c in ApiCall.objects.order_by("pk")] == ["retried", "ok"]


def test_429_on_a_write_is_rate_limited_with_retry_after(hde_client, hde_emulator):
    Account.objects.filter(code="demo").update(fault_kind="429", fault_next=1)
    with pytest.raises(ApiRateLimited) as caught:
        hde_client.add_post(2, "x")
    assert caught.value.retry_after == 1.0


@pytest.mark.parametrize("fault", ["malformed_json", "html"])
def test_not_json_answers_are_unexpected(hde_client, hde_emulator, fault):
    Account.objects.filter(code="demo").update(fault_kind=fault, fault_next=1)
    with pytest.raises(ApiUnexpectedResponse):
        hde_client.get_ticket(2)


def test_a_slow_write_times_out(hde_client, hde_emulator, hde_limits):
    hde_limits(HTTP_READ_TIMEOUT=0.3)
    Account.objects.filter(code="demo").update(fault_kind="timeout", fault_next=1,
                                               fault_sleep_seconds=1.0)
    client = HelpDeskEddyClient.for_connection(hde_client.connection)
    with pytest.raises(ApiTimeoutError):
        client.add_comment(2, "x")
    assert ApiCall.objects.get().outcome == "timeout"


def test_a_slow_read_times_out(hde_client, hde_emulator, hde_limits):
    hde_limits(HTTP_READ_TIMEOUT=0.3, HTTP_RETRY_TOTAL=1)
    Account.objects.filter(code="demo").update(fault_kind="timeout", fault_next=1,
                                               fault_sleep_seconds=1.0)
    client = HelpDeskEddyClient.for_connection(hde_client.connection)
    with pytest.raises(ApiTimeoutError):
        client.get_ticket(2)


def test_a_wrong_base_url_is_reported_as_not_the_api(hde_connect, hde_emulator):
    connection = hde_connect(url=f"{hde_emulator.base_url}/sandbox/hde/demo/tickets/2")
    with pytest.raises((ApiUnexpectedResponse, ApiNotFound)):
        HelpDeskEddyClient.for_connection(connection).get_ticket(1)
