"""Protocol fidelity of the RetailCRM emulator.

The official `retailcrm` PyPI client (v5) is an independent check: it
encodes requests its own way (PHP-style brackets via
multidimensional_urlencode, `filter=None`, form fields holding JSON) and
must get the vendor's envelopes back. Raw `requests` calls cover what that
client cannot send: fault headers, a missing key, the rate limit.
"""

import time

import pytest
import requests
import retailcrm

from sandbox.retailcrm import gate
from sandbox.retailcrm.models import Account
from sandbox.retailcrm.seed import DEMO_FULL_KEY, DEMO_OUTLET_KEY, DEMO_READONLY_KEY


@pytest.fixture
def official(rc_emulator):
    return retailcrm.v5(rc_emulator.demo["url"], DEMO_FULL_KEY)


def test_unversioned_methods(official):
    versions = official.api_versions()
    assert versions.get_status_code() == 200
    assert versions.get_response() == {"success": True, "versions": ["3.0", "4.0", "5.0"]}
    credentials = official.api_credentials().get_response()
    assert credentials["siteAccess"] == "access_full"
    assert credentials["sitesAvailable"] == ["main", "outlet"]
    assert "customer_write" in credentials["scopes"]
    settings = official.settings().get_response()
    assert settings["settings"]["timezone"]["value"] == "Europe/Moscow"


def test_customers_list_get_create_edit(official, rc_people):
    everyone = official.customers()  # sends the literal `filter=None`
    assert everyone.is_successful()
    assert everyone.get_response()["pagination"]["limit"] == 20
    by_email = official.customers({"email": "anna.smirnova@example.ru"}).get_response()
    assert [c["id"] for c in by_email["customers"]] == [rc_people["vip"]]
    assert by_email["customers"][0]["phones"] == [{"number": "+7 (916) 123-45-67"}]
    pair = {rc_people["vip"], rc_people["vip_twin"]}
    for typed in ("9161234567", "+7 (916) 123-45-67", "8-916-123-45-67"):
        by_phone = official.customers({"name": typed}, limit=50).get_response()
        assert {c["id"] for c in by_phone["customers"]} == pair, typed
    by_name = official.customers({"name": "СМИРНОВА Анна"}).get_response()["customers"]
    assert [c["id"] for c in by_name] == [rc_people["vip"]]

    phone_only = official.customer(rc_people["phone_only"], "id").get_response()["customer"]
    assert "email" not in phone_only  # omitted, not null
    assert phone_only["customFields"] == []  # PHP's empty map
    same = official.customer(phone_only["externalId"], site="main").get_response()
    assert same["customer"]["id"] == phone_only["id"]

    created = official.customer_create({"firstName": "Вера", "email": "vera@example.ru",
                                        "externalId": "hd-1"}, "outlet")
    assert created.get_status_code() == 201
    new_id = created.get_response()["id"]
    edited = official.customer_edit({"externalId": "hd-1", "email": "vera@new.example.ru"},
                                    site="outlet")
    assert edited.get_response() == {"success": True, "id": new_id, "state": "found"}
    history = official.customers_history({"customerId": new_id}, limit=100).get_response()
    assert [(h["field"], h["newValue"], h["apiKey"]["current"]) for h in history["history"]] == [
        ("id", new_id, True), ("email", "vera@new.example.ru", True)]
    assert history["history"][0]["customer"]["email"] == "vera@example.ru"  # as created
    duplicate = official.customer_create({"firstName": "Вера", "externalId": "hd-1"}, "outlet")
    assert duplicate.get_status_code() == 400
    assert duplicate.get_error_msg() == "Errors in the entity format"


def test_notes(official, rc_people):
    listed = official.customer_notes({"customerIds": [rc_people["vip"]]}).get_response()
    assert listed["pagination"]["totalCount"] == 2
    assert set(listed["notes"][0]) >= {"id", "text", "createdAt", "managerId", "customer"}
    created = official.customer_note_create({"text": "Из тикета", "customer": {
        "id": rc_people["vip"]}})
    assert created.get_status_code() == 201
    missing = official.customer_note_create({"text": "Без клиента"})
    assert missing.get_status_code() == 400
    assert missing.get_errors() == {
        "customer": "Set one of the following fields: id, externalId"}
    assert official.customer_note_delete(created.get_response()["id"]).is_successful()


def test_orders_create_edit_and_history(official, rc_people, rc_emulator):
    orders = official.orders({"customerId": rc_people["many"]}, limit=100).get_response()
    assert orders["pagination"] == {"limit": 100, "totalCount": 45, "currentPage": 1,
                                    "totalPageCount": 1}
    newest = orders["orders"][0]
    assert newest["customer"]["id"] == rc_people["many"]  # embedded in full
    assert newest["number"].endswith("A") and isinstance(newest["payments"], dict)
    last_id = official.orders_history(limit=100).get_response()["pagination"]["totalCount"]

    created = official.order_create({"customer": {"id": rc_people["new"]},
                                     "items": [{"initialPrice": 990, "quantity": 2,
                                                "productName": "Термокружка"}]}, "main")
    assert created.get_status_code() == 201
    order = created.get_response()["order"]
    assert order["status"] == "new" and order["totalSumm"] == 1980
    edited = official.order_edit({"id": order["id"], "status": "delivering", "managerId": 3},
                                 "id", "main")
    assert edited.is_successful()
    history = official.orders_history({"sinceId": last_id}, limit=100).get_response()
    changes = [(h["field"], h.get("oldValue"), h.get("newValue"), h["apiKey"]["current"])
               for h in history["history"]]
    assert changes == [
        ("status", None, {"code": "new"}, True),
        ("status", {"code": "new"}, {"code": "delivering"}, True),
        ("manager", None, {"id": 3}, True),
    ]
    assert history["history"][0]["created"] is True
    # Another key sees the same records as somebody else's changes.
    other = retailcrm.v5(rc_emulator.demo["url"], DEMO_READONLY_KEY)
    theirs = other.orders_history({"sinceId": last_id}, limit=100).get_response()
    assert [h["apiKey"]["current"] for h in theirs["history"]] == [False, False, False]
    by_number = official.orders({"numbers": [order["number"]]}).get_response()["orders"]
    assert [o["status"] for o in by_number] == ["delivering"]
    by_group = official.orders({"customerId": rc_people["new"],
                                "extendedStatus": ["delivery"]}).get_response()
    assert by_group["pagination"]["totalCount"] == 1


def test_users_tasks_and_reference_books(official):
    users = official.users({"isManager": 1, "active": 1}).get_response()["users"]
    assert [u["id"] for u in users] == [1, 2, 3, 4]
    assert "phone" in official.user(2).get_response()["user"]
    assert "lastName" in official.user(5).get_response()["user"]
    task = official.task_create({"text": "Позвонить", "performerId": 2,
                                 "datetime": "2026-12-01 10:00"})
    assert task.get_status_code() == 201
    read = official.task(task.get_response()["id"]).get_response()["task"]
    assert read["performer"] == 2 and "performerId" not in read  # read vs write names
    rejected = official.task_create({"text": "Без исполнителя"})
    assert rejected.get_response() == {"success": False, "errorMsg": "Task is not loaded",
                                       "errors": {"performerId": "This value should not be "
                                                                 "blank."}}
    statuses = official.statuses().get_response()["statuses"]
    assert isinstance(statuses, dict) and statuses["delivery-problem"]["group"] == "delivery"
    groups = official.status_groups().get_response()["statusGroups"]
    assert set(groups) == {"new", "approval", "assembling", "delivery", "complete", "cancel"}
    assert set(official.sites().get_response()["sites"]) == {"main", "outlet"}


def test_auth_scopes_and_store_access(rc_emulator, rc_people):
    url = rc_emulator.demo["url"]
    wrong = retailcrm.v5(url, "wrong-key").statuses()
    assert wrong.get_status_code() == 403 and wrong.get_error_msg() == 'Wrong "apiKey" value.'
    missing = requests.get(f"{url}/api/v5/reference/statuses", timeout=5)
    assert missing.json() == {"success": False, "errorMsg": '"apiKey" is missing.'}
    query_key = requests.get(f"{url}/api/v5/reference/sites",
                             params={"apiKey": DEMO_FULL_KEY}, timeout=5)
    assert query_key.status_code == 200  # the documented alternative (§2)
    read_only = retailcrm.v5(url, DEMO_READONLY_KEY)
    denied = read_only.customer_note_create({"text": "x", "customer": {"id": 1}})
    assert (denied.get_status_code(), denied.get_error_msg()) == (403, "Access denied.")
    outlet = retailcrm.v5(url, DEMO_OUTLET_KEY)
    sites = outlet.customers(limit=100).get_response()["customers"]
    assert {c["site"] for c in sites} == {"outlet"}
    assert outlet.customer(rc_people["vip"], "id").get_status_code() == 404
    assert outlet.customer_create({"firstName": "X"}, "main").get_status_code() == 403


def test_input_validation_and_unknown_routes(official, rc_emulator):
    bad_limit = official.customers(limit=25)
    assert bad_limit.get_status_code() == 400
    assert bad_limit.get_error_msg() == "Errors in the input parameters"
    assert "limit" in bad_limit.get_errors()
    beyond = official.customers(page=999).get_response()
    assert beyond["customers"] == [] and beyond["pagination"]["totalCount"] > 0
    for site in ("main", "outlet"):  # externalId is unique per store only (§3)
        assert official.customer_create({"firstName": "Двойник", "externalId": "dup-1"},
                                        site).get_status_code() == 201
    ambiguous = official.customer("dup-1")
    assert (ambiguous.get_status_code(), ambiguous.get_error_msg()) == (
        400, "Parameter 'site' is missing")
    assert official.customer("dup-1", site="outlet").get_response()["customer"]["site"] == (
        "outlet")
    unknown = requests.get(f"{rc_emulator.demo['url']}/api/v5/no-such-method",
                           headers={"X-API-KEY": DEMO_FULL_KEY}, timeout=5)
    assert unknown.status_code == 404 and unknown.json()["errorMsg"] == "API method not found"


@pytest.mark.parametrize("fault, status, content_type", [
    ("503", 503, "text/html"), ("429", 429, "text/html"), ("500", 500, "application/json"),
    ("502", 502, "text/html"), ("html", 200, "text/html"), ("malformed", 200, "application/json"),
])
def test_fault_header_per_request(rc_emulator, fault, status, content_type):
    answer = requests.get(f"{rc_emulator.demo['url']}/api/v5/reference/sites",
                          headers={"X-API-KEY": DEMO_FULL_KEY, "X-Sandbox-Fault": fault},
                          timeout=5)
    assert answer.status_code == status
    assert answer.headers["Content-Type"].startswith(content_type)
    if content_type == "text/html" or fault == "malformed":
        with pytest.raises(ValueError):
            answer.json()


def test_latency_and_the_faults_admin_endpoint(rc_emulator):
    url = rc_emulator.demo["url"]
    headers = {"X-API-KEY": DEMO_FULL_KEY}
    started = time.monotonic()
    requests.get(f"{url}/api/credentials", headers={**headers, "X-Sandbox-Latency-Ms": "300"},
                 timeout=5)
    assert time.monotonic() - started >= 0.3
    set_burst = requests.post(f"{url}/_faults", data={"fault": "503", "fault_burst": "2"},
                              timeout=5)
    assert set_burst.json()["fault_burst"] == 2
    statuses = [requests.get(f"{url}/api/credentials", headers=headers, timeout=5).status_code
                for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert requests.post(f"{url}/_faults", data={"fault": "nonsense"}, timeout=5
                         ).status_code == 400
    assert requests.post(f"{url}/_faults", json={"latency_ms": "soon"}, timeout=5
                         ).status_code == 400
    assert requests.post(f"{url}/_faults", json={"latency_ms": 5, "fault": ""}, timeout=5
                         ).json()["latency_ms"] == 5
    assert Account.objects.get(code="demo").latency_ms == 5


def test_rate_limit_answers_503_html_like_nginx(rc_emulator):
    # A low limit, so that a busy machine still sends more than it within
    # one second: with 10 per second, 14 requests in a row once took over a
    # second and met no refusal. The limit is the account's knob; 10 is the
    # vendor's (tests/vendors/test_throttle*.py pace the clients to it).
    Account.objects.filter(code="demo").update(rate_limit_rps=3)
    gate.limiter.reset()
    url = f"{rc_emulator.demo['url']}/api/credentials"
    answers = []
    with requests.Session() as session:
        while len(answers) < 60 and 503 not in (a.status_code for a in answers):
            answers.append(session.get(url, headers={"X-API-KEY": DEMO_FULL_KEY}, timeout=5))
    codes = [a.status_code for a in answers]
    # The first three always pass (the window was empty); a refusal comes
    # only when three were admitted within the last second (the limiter's
    # own record, not this test's clock).
    assert codes[:3] == [200] * 3 and codes[-1] == 503, codes
    admitted = list(gate.limiter._admitted["demo"])
    assert len(admitted) == 3 and admitted[-1] - admitted[0] < 1.0
    rejected = next(a for a in answers if a.status_code == 503)
    assert "<center>nginx</center>" in rejected.text
    # A second later the window is free again. The limiter counts on
    # time.monotonic, which time-machine does not move: its own record is
    # aged by a second instead of the test sleeping through one.
    hits = gate.limiter._admitted["demo"]
    aged = [at - 1.0 for at in hits]
    hits.clear()
    hits.extend(aged)
    assert requests.get(url, headers={"X-API-KEY": DEMO_FULL_KEY}, timeout=5).ok
