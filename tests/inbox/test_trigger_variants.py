"""RetailCRM's trigger "Send HTTP request" however its admin set it up
(docs/vendors/open-questions.md R-4), sent by the emulator's real trigger
sender (`sandbox.retailcrm.triggers.send`) at the portal over HTTP.

Before: only a POST with a form or JSON body and the secret in a header (or
the body) was accepted; parameters in the query string, a GET, or the
secret as a query parameter were refused (400/405).
"""

import pytest
from django.urls import reverse

from integration.models import EventSource, InboundEvent, SecretKind
from integration.tenancy.secrets import shop_secret_issue
from sandbox.retailcrm.models import Order
from sandbox.retailcrm.triggers import add_trigger, send

PARAMS = {"order_id": "{{ order.id }}", "status": "{{ order.status.code }}"}
# method, encoding, where the secret goes
VARIANTS = [
    ("POST", "form", "header"), ("POST", "form", "param"),
    ("POST", "json", "header"), ("POST", "json", "param"),
    ("POST", "query", "header"), ("POST", "query", "param"),
    ("GET", "query", "header"), ("GET", "query", "param"),
]


@pytest.fixture
def trigger_shop(rc_emulator, rc_connect, rc_shop, live_server):
    rc_connect()
    rc_shop.trigger_secret = shop_secret_issue(shop=rc_shop, kind=SecretKind.RETAILCRM_TRIGGER)
    rc_shop.hook_url = live_server.url + reverse("hook-retailcrm", args=[rc_shop.public_id])
    return rc_shop


@pytest.mark.parametrize("method, encoding, secret_in", VARIANTS)
def test_every_trigger_setup_is_accepted(trigger_shop, method, encoding, secret_in):
    secret = trigger_shop.trigger_secret
    params, headers = dict(PARAMS), {}
    if secret_in == "header":
        headers["X-Webhook-Secret"] = secret
    else:
        params["secret"] = secret
    trigger = add_trigger("demo", name="portal", url=trigger_shop.hook_url, params=params,
                          headers=headers, encoding=encoding, method=method)
    order = Order.objects.filter(account__code="demo", site="main").order_by("crm_id").first()

    delivery = send(trigger, order)

    assert delivery.last_status == 202, (delivery.last_status, delivery.last_error)
    event = InboundEvent.objects.get(shop=trigger_shop, source=EventSource.RETAILCRM_TRIGGER)
    assert event.payload == {"order_id": order.crm_id, "status": order.status}
    assert event.source_key == f"order:{order.crm_id}:{order.status}"
    assert secret not in str(event.payload)
    # The same delivery again is a no-op.
    assert send(trigger, order).last_status == 202
    assert InboundEvent.objects.filter(shop=trigger_shop).count() == 1


def test_a_wrong_secret_in_the_query_is_refused(trigger_shop):
    trigger = add_trigger("demo", name="portal", url=trigger_shop.hook_url,
                          params={**PARAMS, "secret": "not-the-secret"}, encoding="query",
                          method="GET")
    order = Order.objects.filter(account__code="demo", site="main").first()
    assert send(trigger, order).last_status == 401
    assert not InboundEvent.objects.filter(shop=trigger_shop).exists()


def test_a_header_secret_wins_over_the_query(client, trigger_shop):
    """Credentials in a header are checked first; a stray `secret` in the
    query string neither helps nor is stored."""
    url = reverse("hook-retailcrm", args=[trigger_shop.public_id])
    answer = client.get(f"{url}?order_id=77&secret=guess",
                        HTTP_X_WEBHOOK_SECRET=trigger_shop.trigger_secret)
    assert answer.status_code == 202, answer.content
    event = InboundEvent.objects.get(pk=answer.json()["event_id"])
    assert event.payload["order_id"] == 77
    wrong = client.get(f"{url}?order_id=77&secret={trigger_shop.trigger_secret}",
                       HTTP_X_WEBHOOK_SECRET="guess")
    assert wrong.status_code == 401


def test_the_hde_receiver_still_takes_no_query_secret(client, trigger_shop):
    hde_secret = shop_secret_issue(shop=trigger_shop, kind=SecretKind.HDE_WEBHOOK)
    url = reverse("hook-hde", args=[trigger_shop.public_id])
    answer = client.post(f"{url}?secret={hde_secret}", data={"event": "new_ticket",
                                                             "ticket_id": 5},
                         content_type="application/json")
    assert answer.status_code == 401
    assert client.get(url).status_code == 405
