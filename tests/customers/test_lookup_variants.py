"""Issue 15's lookup bugs, through the widget JSON API over real HTTP, under
the RetailCRM emulator's answers to the open questions
(docs/vendors/open-questions.md R-1, R-2, R-3, R-8).

Why: each switch value is an answer a real account may give; the card must
show the right customer (whole profile, newest orders) whatever the answer,
and a lookup must not cost more requests than it needs.
"""

import pytest
import requests

from integration.models import ApiCall
from sandbox.retailcrm.behaviour import set_behaviour
from sandbox.retailcrm.models import Order


def _context(live_server, shop, **params):
    response = requests.get(f"{live_server.url}/api/v1/context", params=params,
                            headers={"Authorization": f"Bearer {shop.widget_token}"},
                            timeout=15)
    assert response.status_code == 200, response.text
    return response.json()


def _newest_order_number(customer_crm_id):
    return (Order.objects.filter(account__code="demo", customer_crm_id=customer_crm_id)
            .order_by("-created_at", "-crm_id").first().number)


def _searches_by_number(shop):
    return ApiCall.objects.filter(shop=shop, provider="retailcrm",
                                  path__contains="numbers").count()


# -- an order embedding only part of the customer ---------------------------
@pytest.mark.parametrize("embedded", ["full", "partial"])
def test_order_number_lookup_shows_the_whole_profile(live_server, demo_shop, rc_people,
                                                     embedded):
    set_behaviour("demo", order_customer=embedded)
    number = _newest_order_number(rc_people["vip"])
    body = _context(live_server, demo_shop, order_number=number)
    assert body["status"] == "found" and body["matched_by"] == "order_number"
    customer = body["customer"]
    assert customer["id"] == rc_people["vip"]
    assert customer["name"] == "Смирнова Анна"  # never the e-mail in place of a name
    assert customer["vip"] is True and customer["orders_count"] == 10
    assert customer["total_sum"] > 0 and "vip" in customer["segments"]
    assert body["manager"] and body["manager"]["name"]
    assert body["orders"][0]["number"] == number  # pinned
    # One order-number search per lookup: round-trip 2 reuses round-trip 1's answer.
    assert _searches_by_number(demo_shop) == 1


def test_order_number_beside_an_email_is_searched_once(live_server, demo_shop, rc_people):
    number = _newest_order_number(rc_people["vip"])
    body = _context(live_server, demo_shop, email="anna.smirnova@example.ru",
                    order_number=number)
    assert body["matched_by"] == "email" and body["orders"][0]["number"] == number
    assert _searches_by_number(demo_shop) == 1
