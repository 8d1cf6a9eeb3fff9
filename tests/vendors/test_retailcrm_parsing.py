"""Parsers against hand-written fixtures of each documented vendor quirk
(docs/vendors/retailcrm.md §7, §18). These are the only canned bodies in the suite: every
other test talks to the emulator."""

import json
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from integration.vendors import retailcrm_parsing as parsing
from integration.vendors.base import NOT_JSON
from integration.vendors.errors import (
    ApiAccessDenied,
    ApiNotFound,
    ApiRateLimited,
    ApiServerError,
    ApiUnauthorized,
    ApiUnexpectedResponse,
    ApiValidationError,
)
from integration.vendors.retailcrm import WRONG_URL_HINT, error_for_response

FIXTURES = Path(__file__).parent.parent / "fixtures" / "retailcrm"
MOSCOW = ZoneInfo("Europe/Moscow")


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def answer(status: int, body: str, content_type="application/json", headers=None):
    """A real `requests.Response` as the transport would hand it over."""
    response = requests.Response()
    response.status_code = status
    response._content = body.encode()
    response.headers.update({"Content-Type": content_type, **(headers or {})})
    response.encoding = "utf-8"
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = NOT_JSON
    return response, parsed


def test_naive_timestamps_are_in_the_account_timezone():
    moment = parsing.parse_datetime("2021-02-25 09:37:48", MOSCOW)
    assert moment.astimezone(UTC) == datetime(2021, 2, 25, 6, 37, 48, tzinfo=UTC)
    yekaterinburg = parsing.parse_datetime("2021-02-25 09:37:48", ZoneInfo("Asia/Yekaterinburg"))
    assert (moment - yekaterinburg).total_seconds() == 2 * 3600
    # Task `datetime` has no seconds; cart timestamps carry an offset (§7).
    assert parsing.parse_datetime("2024-05-20 15:00", MOSCOW).hour == 15
    with_offset = parsing.parse_datetime("2024-05-20T15:00:00+05:00", MOSCOW)
    assert with_offset.utcoffset().total_seconds() == 5 * 3600
    assert parsing.parse_datetime("", MOSCOW) is None
    assert parsing.parse_datetime("yesterday", MOSCOW) is None


def test_full_customer():
    customer = parsing.parse_customer(load("customer_full.json")["customer"], MOSCOW)
    assert (customer.id, customer.external_id, customer.site) == (4924, "11", "moysklad")
    assert customer.full_name == "М Андрей В" and customer.vip
    assert customer.custom_fields == {"galkatrue": True}
    assert customer.phones == ["+79515151515", "8 (495) 123-45-67"]
    assert customer.segments == ["Россия"] and customer.tags == ["test"]
    assert (customer.orders_count, customer.total_summ) == (15, 10224.4)
    assert customer.manager_id == 28


def test_minimal_customer_with_omitted_fields_and_empty_custom_fields_list():
    customer = parsing.parse_customer(load("customer_minimal.json")["customer"], MOSCOW)
    assert customer.email == "" and customer.manager_id is None and customer.custom_fields == {}
    assert customer.external_id == "" and customer.orders_count == 0
    assert customer.created_at == datetime(2024, 3, 1, 0, 15, tzinfo=MOSCOW)


def test_corporate_customer_and_tags_as_plain_strings():
    customer = parsing.parse_customer(
        load("customer_corporate_tags_as_strings.json")["customer"], MOSCOW)
    assert customer.type == "customer_corporate" and customer.full_name == "ООО Ромашка"
    assert customer.tags == ["опт", "приоритет"] and customer.created_at is None


def test_order_with_payments_object_keyed_by_id():
    order = parsing.parse_order(load("order_payments_object.json")["order"], MOSCOW)
    assert (order.id, order.number, order.status) == (7141, "7141C", "assembling")
    assert order.total_summ == 1395.16 and order.delivery_cost == 616.16
    assert order.delivery_date == date(2021, 3, 4)
    assert order.delivery_address == "ул. Пушкинская, д. 10"
    assert [(i.name, i.quantity) for i in order.items] == [("Мыло", 1.0), ("Подарок", 2.0)]
    assert sorted(p.id for p in order.payments) == [4554, 4555]
    assert order.paid_amount == 1000
    assert order.custom_fields["multiselect"] == ["test1", "test3"]
    assert order.customer_id == 4924


def test_orders_with_payments_list_empty_object_and_missing_fields():
    page = parsing.parse_page(load("order_payments_list_empty_fields.json"), "orders",
                              lambda raw: parsing.parse_order(raw, MOSCOW))
    first, second = page.items
    assert [p.amount for p in first.payments] == [100.0] and first.custom_fields == {}
    assert second.payments == [] and second.created_at is None
    assert second.total_summ == 0 and second.delivery_date is None
    assert (page.total_count, page.total_pages, page.has_next) == (2, 1, False)


def test_reference_books_keyed_by_code_and_empty_book_as_list():
    body = load("references.json")
    statuses = parsing.parse_statuses(body)
    assert statuses["delivery-problem"].group == "delivery"
    groups = parsing.parse_status_groups(body)
    assert groups["delivery"].process and "delivery-problem" in groups["delivery"].statuses
    assert parsing.parse_sites(body) == {}


def test_history_records():
    records = [parsing.parse_history_record(raw, MOSCOW) for raw in load("history.json")["history"]]
    created, by_user, by_trigger = records
    assert created.created and created.by_this_key and created.old_value is None
    assert created.customer_id == 77 and created.order_number == "2034A"
    assert not by_user.by_this_key and by_user.source == "user"
    assert by_user.new_value == {"code": "client-confirmed"}
    assert by_trigger.field == "order_product.status" and by_trigger.source == "code"


def test_credentials_with_selective_site_access():
    credentials = parsing.parse_credentials(load("credentials_selective.json"))
    assert credentials.site_access == "access_selective"
    assert credentials.sites_available == ["shop-a"]
    assert set(credentials.missing) == {"user_read", "customer_write", "task_write"}
    assert credentials.extra == ["telephony_write"]


@pytest.mark.parametrize("raw, expected", [
    ("+7 (916) 123-45-67", "+79161234567"),
    ("89161234567", "+79161234567"),
    ("8 916 123 45 67", "+79161234567"),
    ("79161234567", "+79161234567"),
    ("9161234567", "+79161234567"),
    ("8-999-222-33-44", "+79992223344"),
    ("+375 29 123-45-67", "+375291234567"),
    ("12", ""),
    ("", ""),
])
def test_phone_normalisation(raw, expected):
    assert parsing.normalise_phone(raw) == expected


@pytest.mark.parametrize("status, name, error_class, errors", [
    (400, "error_errors_object.json", ApiValidationError,
     {"customer": "Set one of the following fields: id, externalId"}),
    (400, "error_errors_list.json", ApiValidationError,
     {"0": "Значение недопустимо.",
      "1": "limit: The value you selected is not a valid choice."}),
])
def test_validation_errors_keep_the_vendor_messages(status, name, error_class, errors):
    error = error_for_response(*answer(status, json.dumps(load(name))))
    assert isinstance(error, error_class) and error.errors == errors
    assert load(name)["errorMsg"] in str(error)


@pytest.mark.parametrize("status, body, content_type, error_class", [
    (403, '{"success": false, "errorMsg": "Wrong \\"apiKey\\" value."}', "application/json",
     ApiUnauthorized),
    (403, '{"success": false, "errorMsg": "Access denied."}', "application/json",
     ApiAccessDenied),
    (404, '{"success": false, "errorMsg": "Not found"}', "application/json", ApiNotFound),
    (200, '{"success": false, "errorMsg": "Not found"}', "application/json", ApiNotFound),
    (200, '{"success": false, "errorMsg": "Something odd"}', "application/json",
     ApiValidationError),
    (503, "<html><center>nginx</center></html>", "text/html", ApiRateLimited),
    (429, "", "text/plain", ApiRateLimited),
    (500, '{"success": false}', "application/json", ApiServerError),
    (405, "<html>405 Not Allowed</html>", "text/html", ApiUnexpectedResponse),
    (200, '{"success": tr', "application/json", ApiUnexpectedResponse),
])
def test_error_mapping(status, body, content_type, error_class):
    error = error_for_response(*answer(status, body, content_type))
    assert type(error) is error_class


def test_success_and_html_hint():
    assert error_for_response(*answer(200, '{"success": true}')) is None
    assert error_for_response(*answer(201, '{"success": true, "id": 3}')) is None
    html = error_for_response(*answer(404, "<!DOCTYPE html><html></html>", "text/html"))
    assert WRONG_URL_HINT in str(html)
    limited = error_for_response(*answer(429, "", "text/plain", {"Retry-After": "7"}))
    assert limited.retry_after == 7.0


def test_a_corporate_orders_company_is_never_taken_for_a_person():
    """§8.7: a corporate order embeds the company as its customer; ids of
    companies and people may overlap, so the order belongs to no person."""
    raw = load("order_payments_object.json")["order"]
    person = parsing.parse_order({**raw, "customer": {"type": "customer", "id": 4924}}, MOSCOW)
    company = parsing.parse_order(
        {**raw, "customer": {"type": "customer_corporate", "id": 4924}}, MOSCOW)
    assert person.customer_id == 4924 and company.customer_id is None


def test_a_refusal_without_a_text_reads_in_words_in_either_language():
    """RetailCRM refused with no errorMsg: the person reads the client's
    words in their language, never "HTTP 418"."""
    from django.utils import translation

    from integration.vendors.errors import people_text

    error = error_for_response(*answer(418, '{"success": false}'))
    with translation.override("en"):
        assert people_text(error) == "RetailCRM refused the request"
    with translation.override("ru"):
        assert people_text(error) == "RetailCRM отклонил запрос"
    assert "418" not in people_text(error)
