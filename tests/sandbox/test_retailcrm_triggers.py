"""The RetailCRM emulator sends trigger requests the ways a real admin sets them up.

Why: RetailCRM's "Send HTTP request" action has no fixed payload (reference
§15.1): parameters travel in the query string, a form body or a JSON body,
and the shared secret in a header or a parameter, as the admin typed them.
The portal must be tested against each, so the emulator sends each, over
real HTTP, to a recording receiver (a receiver, not a vendor fake).
"""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import retailcrm

from sandbox.retailcrm import triggers
from sandbox.retailcrm.models import Order, TriggerDelivery, TriggerEvent
from sandbox.retailcrm.seed import DEMO_FULL_KEY

PARAMS = {"order_id": "{{ order.id }}", "status": "{{ order.status.code }}"}


@pytest.fixture
def official(rc_emulator):
    return retailcrm.v5(rc_emulator.demo["url"], DEMO_FULL_KEY)


@pytest.fixture
def order(rc_people):
    return (Order.objects.filter(account__code="demo", customer_crm_id=rc_people["delivery"])
            .get())


def _status_change(official, order, status="delivery-problem"):
    answer = official.order_edit({"id": order.crm_id, "status": status}, "id", "main")
    assert answer.is_successful()


@pytest.mark.parametrize("encoding, secret_in", [
    ("query", "param"), ("form", "header"), ("json", "header"), ("json", "param"),
])
def test_a_status_change_sends_the_configured_request(official, order, webhook_receiver,
                                                      encoding, secret_in):
    params = dict(PARAMS, **({"secret": "s3cret"} if secret_in == "param" else {}))
    headers = {"X-Webhook-Secret": "s3cret"} if secret_in == "header" else {}
    triggers.add_trigger("demo", name="Portal", url=f"{webhook_receiver.url}/hooks/rc/1/",
                         params=params, headers=headers, encoding=encoding)

    _status_change(official, order)
    assert webhook_receiver.received == []  # queued with the change, sent by the pump
    assert triggers.pump() == 1

    [hit] = webhook_receiver.received
    url = urlsplit(hit.path)
    assert (hit.method, url.path) == ("POST", "/hooks/rc/1/")
    expected = {"order_id": str(order.crm_id), "status": "delivery-problem"}
    if secret_in == "param":
        expected["secret"] = "s3cret"
    else:
        assert hit.headers["X-Webhook-Secret"] == "s3cret"
    if encoding == "query":
        assert {k: v[0] for k, v in parse_qs(url.query).items()} == expected
        assert hit.body == ""
    elif encoding == "form":
        assert hit.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
        assert {k: v[0] for k, v in parse_qs(hit.body).items()} == expected and not url.query
    else:
        assert hit.headers["Content-Type"].startswith("application/json")
        assert json.loads(hit.body) == expected
    delivery = TriggerDelivery.objects.get()
    assert (delivery.state, delivery.last_status, delivery.attempts) == ("sent", 200, 1)
    assert triggers.pump() == 0


def test_events_conditions_and_failures(official, order, rc_people, webhook_receiver):
    url = webhook_receiver.url
    triggers.add_trigger("demo", name="Status", url=f"{url}/status", params=PARAMS)
    triggers.add_trigger("demo", name="Created", url=f"{url}/created", params=PARAMS,
                         event=TriggerEvent.ORDER_CREATED)
    triggers.add_trigger("demo", name="Any", url=f"{url}/any", params=PARAMS, method="GET",
                         event=TriggerEvent.ORDER_CHANGED)

    official.order_edit({"id": order.crm_id, "managerId": 3}, "id", "main")  # not a status
    official.order_create({"customer": {"id": rc_people["new"]}}, "main")
    webhook_receiver.statuses = [500]  # the first delivery fails
    assert triggers.pump() == 2
    paths = sorted(urlsplit(hit.path).path for hit in webhook_receiver.received)
    assert paths == ["/any", "/created"]
    get = next(hit for hit in webhook_receiver.received if hit.path.startswith("/any"))
    assert get.method == "GET" and f"order_id={order.crm_id}" in get.path
    failed = TriggerDelivery.objects.get(state=TriggerDelivery.FAILED)
    assert failed.last_status == 500 and triggers.pump() == 0  # tried once (§19: unknown)


def test_templates_render_like_twig(order, rc_people):
    context = triggers.order_context(order)
    assert triggers.render("{{order.number}}/{{ order.customer.id }}", context) == (
        f"{order.number}/{rc_people['delivery']}")
    assert triggers.render("{{ order.status }}|{{ order.nothing.here }}|", context) == (
        f"{order.status}||")
    # Integrators report that the whole order JSON-encodes to `{}` (§15.1).
    assert triggers.render("{{ order | json_encode }}", context) == "{}"
    assert triggers.render("{{ order.id | json_encode }}", context) == str(order.crm_id)


def test_tests_can_fire_a_trigger_for_any_order(rc_emulator, order, webhook_receiver):
    base = f"{rc_emulator.demo['url']}/_triggers"
    created = requests.post(base, json={"name": "Portal", "url": webhook_receiver.url,
                                        "params": PARAMS, "encoding": "json",
                                        "headers": {"X-Webhook-Secret": "s"}}, timeout=5)
    assert created.status_code == 201
    trigger_id = created.json()["trigger"]["id"]
    assert requests.post(base, json={"name": "x", "url": "u", "colour": "red"},
                         timeout=5).status_code == 400

    fired = requests.post(f"{base}/{trigger_id}/fire", data={"order_id": order.crm_id},
                          timeout=10).json()["delivery"]
    assert (fired["state"], fired["last_status"]) == ("sent", 200)
    assert json.loads(webhook_receiver.received[0].body) == {
        "order_id": str(order.crm_id), "status": order.status}
    listed = requests.get(base, timeout=5).json()
    assert [t["name"] for t in listed["triggers"]] == ["Portal"]
    assert listed["deliveries"][0]["body"] == fired["body"]
    assert requests.post(f"{base}/{trigger_id}/fire", data={"order_id": 1}, timeout=5
                         ).status_code == 404


def test_the_pump_command_sends_both_emulators_queues(official, order, webhook_receiver):
    from django.core.management import call_command

    triggers.add_trigger("demo", name="Portal", url=webhook_receiver.url, params=PARAMS)
    _status_change(official, order)
    call_command("sandbox_hde_pump", "--once")  # `make run` starts it by this name
    assert len(webhook_receiver.received) == 1
