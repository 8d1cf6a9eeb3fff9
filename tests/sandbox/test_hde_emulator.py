"""The HDE emulator speaks the vendor's shapes and quirks over real HTTP.

Why: the client and the portal are only as honest as the emulator. These
tests use raw `requests` (no client) to pin the contract of docs/vendors/helpdeskeddy.md §13:
Basic auth, the `errors` envelope, rate-limit headers on every answer, the
account-wide limit and ban with its exact text, keyed ticket lists, 30 per
page, both trailing-slash forms, form and JSON bodies, and fault injection
through the ORM and the `X-Sandbox-Fault` header.
"""

import base64
import time
from datetime import timedelta

import pytest
import requests
import time_machine
from django.utils import timezone

from sandbox.hde.models import Account


def account(code="demo"):
    return Account.objects.get(code=code)


def test_every_answer_carries_the_rate_limit_headers(hde_raw):
    for response in (hde_raw("GET", "tickets/"), hde_raw("GET", "tickets/", auth=False),
                     hde_raw("GET", "nothing-here/"), hde_raw("GET", "tickets/999/")):
        assert response.headers["X-Rate-Limit"] == "300"
        assert int(response.headers["X-Rate-Limit-Remaining"]) < 300
    assert hde_raw("GET", "tickets/", auth=False).json() == {"errors": [
        {"code": "e-401", "title": "Unauthorized", "details": "Wrong e-mail or API key"}]}
    assert hde_raw("GET", "nothing-here/").json()["errors"][0]["code"] == "e-404"
    assert hde_raw("DELETE", "statuses/").status_code == 405
    # Unauthenticated requests count against the account too.
    assert account().requests_received == 7


def test_an_unknown_account_is_a_404_in_the_envelope(hde_raw):
    response = hde_raw("GET", "tickets/", account="nobody")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "e-404"


def test_paths_work_with_and_without_the_trailing_slash(hde_raw):
    assert hde_raw("GET", "tickets/2").json()["data"]["id"] == 2
    assert hde_raw("GET", "tickets/2/").json()["data"]["id"] == 2
    assert hde_raw("GET", "priorities").status_code == 200


def test_the_account_limit_bans_every_key_with_the_vendor_text(hde_raw, hde_emulator):
    Account.objects.filter(code="demo").update(rate_limit_per_minute=2, ban_seconds=1200)
    assert hde_raw("GET", "tickets/1/").headers["X-Rate-Limit-Remaining"] == "1"
    assert hde_raw("GET", "tickets/1/").headers["X-Rate-Limit-Remaining"] == "0"

    banned = hde_raw("GET", "tickets/1/")

    assert banned.status_code == 401
    assert banned.json() == {"errors": [{
        "code": "e-401", "title": "Ban",
        "details": "Ban for 20 min. API limit reached (2 request per minute)."}]}
    assert banned.headers["X-Rate-Limit"] == "2"
    # The other key of the same account is banned too; the other account is not.
    token = base64.b64encode(b"operator@demo-shop.example:hde-demo-operator-51a0b2c3").decode()
    operator = hde_raw("GET", "tickets/1/", headers={"Authorization": f"Basic {token}"})
    assert operator.json()["errors"][0]["title"] == "Ban"
    second = hde_emulator.second
    assert requests.get(f"{second['url']}/api/v2/tickets/",
                        auth=(second["email"], second["api_key"]), timeout=5).status_code == 200
    assert (account().requests_received, account().limit_violations) == (4, 1)


def test_the_ban_lifts_after_its_configured_length(hde_raw):
    Account.objects.filter(code="demo").update(rate_limit_per_minute=1, ban_seconds=0.5)
    assert hde_raw("GET", "tickets/1/").status_code == 200
    assert hde_raw("GET", "tickets/1/").status_code == 401
    # The emulator reads the clock time-machine moves (same process): no sleep.
    with time_machine.travel(timezone.now() + timedelta(seconds=0.6)):
        assert hde_raw("GET", "tickets/1/").status_code == 200


def test_limiting_can_be_switched_off(hde_raw):
    Account.objects.filter(code="demo").update(rate_limit_per_minute=1,
                                               rate_limit_enabled=False)
    assert {hde_raw("GET", "tickets/1/").status_code for _ in range(3)} == {200}
    assert account().limit_violations == 0


@pytest.mark.parametrize("fault, status, content_type", [
    ("500", 500, "application/json"), ("503", 503, "application/json"),
    ("429", 429, "application/json"), ("html", 200, "text/html; charset=utf-8"),
    ("malformed_json", 200, "application/json"),
])
def test_faults_per_request_through_a_header(hde_raw, fault, status, content_type):
    response = hde_raw("GET", "tickets/1/", headers={"X-Sandbox-Fault": fault})
    assert response.status_code == status
    assert response.headers["Content-Type"] == content_type
    if fault == "malformed_json":
        with pytest.raises(ValueError):
            response.json()
    assert hde_raw("GET", "tickets/1/").status_code == 200  # one request only


def test_faults_through_the_orm_apply_to_the_next_n_requests(hde_raw):
    Account.objects.filter(code="demo").update(fault_kind="503", fault_next=2)
    assert [hde_raw("GET", "tickets/1/").status_code for _ in range(3)] == [503, 503, 200]
    assert account().fault_next == 0


def test_latency_and_slow_bodies(hde_raw):
    started = time.monotonic()
    assert hde_raw("GET", "tickets/1/", headers={"X-Sandbox-Fault": "latency=300"}).ok
    assert time.monotonic() - started >= 0.3
    Account.objects.filter(code="demo").update(fault_sleep_seconds=0.4)
    started = time.monotonic()
    response = hde_raw("GET", "tickets/1/", headers={"X-Sandbox-Fault": "slow_body"})
    assert response.json()["data"]["id"] == 1
    assert time.monotonic() - started >= 0.4


def test_ticket_lists_are_keyed_by_id_and_paged_by_30(hde_raw):
    body = hde_raw("GET", "tickets/").json()
    assert list(body["data"]) == [str(n) for n in range(13, 0, -1)]
    assert body["pagination"] == {"total": "13", "per_page": 30, "current_page": 1,
                                  "total_pages": 1}
    ascending = hde_raw("GET", "tickets/", params={"order_by": "date_created{asc}"}).json()
    assert list(ascending["data"])[:3] == ["1", "2", "3"]
    closed = hde_raw("GET", "tickets/", params={"status_list": "closed"}).json()["data"]
    assert list(closed) == ["1"]
    by_user = hde_raw("GET", "tickets/", params={"user_list": "10"}).json()["data"]
    assert sorted(by_user) == ["1", "2"]
    found = hde_raw("GET", "tickets/", params={"search": "1004A"}).json()["data"]
    assert [t["title"] for t in found.values()] == ["Заказ 1004A задерживается"]
    recent = hde_raw("GET", "tickets/", params={"from_date_created": "2026-11-21 12:00:00"})
    assert all(t["date_created"] >= "2026-11-21 12:00:00"
               for t in recent.json()["data"].values())
    assert hde_raw("GET", "tickets/", params={"from_date_created": "21.11.2026"}
                   ).status_code == 400


def test_put_accepts_form_fields_and_answers_the_vendor_shapes(hde_raw):
    response = hde_raw("PUT", "tickets/2/", data={
        "custom_fields[1]": "https://portal.example/w/2", "custom_fields[6]": "3",
        "tags[]": ["vip", "late"], "priority_id": "1",
    })
    data = response.json()["data"]
    assert data["priority_id"] == 1 and data["tags"] == ["vip", "late"]
    fields = {f["id"]: f for f in data["custom_fields"]}
    assert fields[1] == {"id": 1, "field_type": "text",
                         "field_value": "https://portal.example/w/2"}
    assert fields[6]["field_value"] == {"id": 3, "name": {"ru": "Опт", "en": "Wholesale"}}
    assert fields[3]["field_value"] == ""
    assert data["date_updated"] > data["date_created"]
    bad = hde_raw("PUT", "tickets/2/", json={"custom_fields": {"99": "x"}})
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "e-400"


def test_posts_are_newest_first_and_comments_are_staff_only(hde_raw):
    hde_raw("POST", "tickets/5/posts/", json={"text": "JSON post"})
    listed = hde_raw("GET", "tickets/5/posts/").json()["data"]
    assert [p["text"] for p in listed][0] == "JSON post"
    assert listed[-1]["text"] == "<p>Срок доставки прошёл, заказа нет.</p>"
    comments = hde_raw("GET", "tickets/5/comments/").json()["data"]
    assert comments[0]["visible"] == "staff" and "date_updated" not in comments[0]
    # §2: posts use "HH:MM:SS DD.MM.YYYY".
    assert comments[0]["date_created"] == "00:30:00 21.11.2026"
    assert hde_raw("POST", "tickets/5/comments/", data={"text": ""}).status_code == 400


def test_users_search_and_create(hde_raw):
    exact = hde_raw("GET", "users/", params={"search": "olga.k@example.ru",
                                             "exact_search": "1"}).json()["data"]
    assert [(u["id"], u["email"], u["group"]["type"]) for u in exact] == [
        (12, "olga.k@example.ru", "user")]
    by_phone = hde_raw("GET", "users/", params={"search": "9992223344"}).json()["data"]
    assert [u["email"] for u in by_phone] == ["79992223344@phone.invalid"]
    staff = hde_raw("GET", "users/", params={"group_list": "1"}).json()["data"]
    assert {u["email"] for u in staff} == {"integration@demo-shop.example",
                                           "operator@demo-shop.example"}
    assert all("api_key" not in u for u in staff)
    from django.db.models import Max

    from sandbox.hde.models import HdeUser

    next_id = HdeUser.objects.filter(account__code="demo").aggregate(m=Max("hid"))["m"] + 1
    created = hde_raw("POST", "users/", data={"name": "Новый", "email": "n@example.org"})
    assert created.json()["data"]["id"] == next_id  # ids continue the account's sequence
    assert hde_raw("POST", "users/", data={"name": "X", "email": "n@example.org"}
                   ).status_code == 400


def test_dictionaries_have_the_reference_shapes(hde_raw):
    assert hde_raw("GET", "statuses/").json()["data"][0] == {
        "id": "open", "name": {"ru": "Открыто", "en": "Open"}}
    assert hde_raw("GET", "types/").json()["data"][0]["id"] == 0
    fields = hde_raw("GET", "custom_fields/").json()
    assert list(fields["data"]) == ["1", "2", "3", "4", "5", "6"]
    assert fields["data"]["1"]["name"] == {"ru": "Карточка CRM", "en": "CRM card"}
    assert list(hde_raw("GET", "custom_fields/6/").json()["data"]) == ["6"]
    options = hde_raw("GET", "custom_fields/6/options/").json()
    assert [o["id"] for o in options["data"]] == [1, 2, 3]
    assert options["pagination"]["per_page"] == 50
