"""The HDE emulator answers each open vendor question every way.

Why: where HelpDeskEddy's behaviour is unverified (docs/vendors/
helpdeskeddy.md §15), the product must work under every plausible answer.
These tests show, over real HTTP with raw `requests`, that an emulator
account switched to an answer really behaves that way, and that the switches
can be set through the ORM, HTTP and the seed. The default of every switch is
what the emulator did before; the existing emulator tests pin it.
"""

import json
from datetime import UTC
from zoneinfo import ZoneInfo

import pytest
import requests
from django.core.exceptions import ValidationError

from sandbox.behaviour import BehaviourError
from sandbox.hde.behaviour import set_behaviour
from sandbox.hde.dispatcher import add_webhook_rule, pump
from sandbox.hde.models import Account, Delivery, Ticket
from sandbox.hde.seed import seed


def behave(**switches):
    set_behaviour("demo", reset=True, **switches)


def ticket(hid=2):
    return Ticket.objects.get(account__code="demo", hid=hid)


def test_switches_over_http_the_orm_and_the_seed(hde_emulator):
    url = f"{hde_emulator.base_url}/sandbox/hde/demo/_behaviour"
    shown = requests.get(url, timeout=5).json()
    assert shown["behaviour"]["tags_on_update"] == "stick"  # today's behaviour
    assert shown["choices"]["tags_on_update"] == ["stick", "append", "refuse", "ignore"]
    changed = requests.post(url, json={"tags_on_update": "refuse"}, timeout=5).json()
    assert changed["behaviour"]["tags_on_update"] == "refuse"
    assert Account.objects.get(code="demo").switch("tags_on_update") == "refuse"
    refused = requests.post(url, data={"exact_search": "sometimes"}, timeout=5)
    assert refused.status_code == 400 and "exact_search" in refused.json()["choices"]
    assert requests.post(url, data={"reset": "true"}, timeout=5).json()["behaviour"][
        "tags_on_update"] == "stick"
    unknown = requests.get(f"{hde_emulator.base_url}/sandbox/hde/nobody/_behaviour", timeout=5)
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["code"] == "e-404"

    account = Account.objects.get(code="demo")
    account.behaviour = {"tags_on_update": "maybe"}
    with pytest.raises(ValidationError):
        account.full_clean()

    seed(base_url=hde_emulator.base_url, behaviour={"agency-second": {"post_author": "ignored"}})
    assert Account.objects.get(code="agency-second").behaviour == {"post_author": "ignored"}
    assert Account.objects.get(code="demo").behaviour == {}
    with pytest.raises(ValueError):
        seed(base_url=hde_emulator.base_url, behaviour={"nobody": {}})
    with pytest.raises(BehaviourError):
        seed(base_url=hde_emulator.base_url, behaviour={"demo": {"post_author": "maybe"}})


@pytest.mark.parametrize("answer, status, tags, priority", [
    ("stick", 200, ["vip"], 1),
    ("append", 200, ["old", "vip"], 1),
    ("refuse", 400, ["old"], 2),
    ("ignore", 200, ["old"], 1),
])
def test_tags_in_the_ticket_update(hde_raw, answer, status, tags, priority):
    Ticket.objects.filter(pk=ticket().pk).update(tags=["old"], priority_id=2)
    before = ticket().date_updated
    behave(tags_on_update=answer)

    response = hde_raw("PUT", "tickets/2/", json={"tags": ["vip"], "priority_id": 1})

    assert response.status_code == status
    assert (ticket().tags, ticket().priority_id) == (tags, priority)
    if status == 400:
        assert response.json() == {"errors": [{"code": "e-400", "title": "Bad request",
                                               "details": "Unknown parameter: tags"}]}
        assert ticket().date_updated == before  # nothing applied
    else:
        assert response.json()["data"]["tags"] == tags
    # Form-encoded tags behave the same way.
    form = hde_raw("PUT", "tickets/2/", data={"tags[]": ["late"]})
    assert form.status_code == status


def test_tags_on_create_are_not_the_question(hde_raw):
    behave(tags_on_update="refuse")
    created = hde_raw("POST", "tickets/", json={"title": "T", "description": "D",
                                                "tags": ["vip"]})
    assert created.status_code == 200 and created.json()["data"]["tags"] == ["vip"]


@pytest.mark.parametrize("answer, status, card", [("refuse", 400, ""),
                                                  ("ignore", 200, "https://p.example/c")])
def test_unknown_custom_field_ids(hde_raw, answer, status, card):
    behave(unknown_custom_fields=answer)
    response = hde_raw("PUT", "tickets/2/", json={"custom_fields": {
        "1": "https://p.example/c", "99": "x"}})
    assert response.status_code == status
    assert ticket().custom_fields.get("1", "") == card
    assert "99" not in ticket().custom_fields


def _emails(hde_raw, **params) -> list[str]:
    return [u["email"] for u in hde_raw("GET", "users/", params=params).json()["data"]]


def test_exact_search_honoured_or_ignored(hde_raw):
    behave()
    assert _emails(hde_raw, search="olga.k@example.ru", exact_search="1") == [
        "olga.k@example.ru"]
    assert _emails(hde_raw, search="olga", exact_search="1") == []
    assert _emails(hde_raw, search="@example.ru", exact_search="1") == []

    behave(exact_search="ignored")
    assert _emails(hde_raw, search="olga", exact_search="1") == ["olga.k@example.ru"]
    several = _emails(hde_raw, search="@example.ru", exact_search="1")
    assert len(several) > 5 and "olga.k@example.ru" in several
    assert _emails(hde_raw, search="9992223344", exact_search="1") == [
        "79992223344@phone.invalid"]  # a plain search matches phone digits too


def test_user_search_by_phone_or_not(hde_raw):
    behave()
    assert _emails(hde_raw, search="999 222-33-44") == ["79992223344@phone.invalid"]
    behave(user_search_phone="ignored")
    assert _emails(hde_raw, search="999 222-33-44") == []
    assert _emails(hde_raw, search="Новиков") == ["79992223344@phone.invalid"]


@pytest.mark.parametrize("answer, author", [("allowed", 2), ("ignored", 1)])
@pytest.mark.parametrize("kind", ["posts", "comments"])
def test_replies_authored_as_another_staff_user(hde_raw, answer, author, kind):
    behave(post_author=answer)
    reply = hde_raw("POST", f"tickets/2/{kind}/", data={"text": "Ответ", "user_id": "2"})
    assert reply.status_code == 200 and reply.json()["data"]["user_id"] == author
    listed = hde_raw("GET", f"tickets/2/{kind}/").json()["data"][0]
    assert (listed["text"], listed["user_id"]) == ("Ответ", author)


@pytest.mark.parametrize("style, zone, shape", [
    ("ymd_hms", "local", "%Y-%m-%d %H:%M:%S"), ("ymd_hm", "local", "%Y-%m-%d %H:%M"),
    ("dmy_hm", "local", "%d.%m.%Y %H:%M"), ("dmy_hms", "utc", "%d.%m.%Y %H:%M:%S"),
    ("ymd_hms", "utc", "%Y-%m-%d %H:%M:%S"), ("unix", "local", None),
])
def test_the_date_update_placeholder_formats(hde_raw, webhook_receiver, style, zone, shape):
    behave(date_update_format=style, date_update_timezone=zone)
    add_webhook_rule("demo", name="Dates", events=["ticket_changed"], url=webhook_receiver.url,
                     template='{"date_update": "{date_update}"}')

    api_view = hde_raw("PUT", "tickets/2/", json={"priority_id": 3}).json()["data"]
    assert pump() == 1

    sent = json.loads(webhook_receiver.received[0].body)["date_update"]
    updated = ticket().date_updated
    if shape is None:
        assert sent == str(int(updated.timestamp()))
    else:
        tz = UTC if zone == "utc" else ZoneInfo("Europe/Moscow")
        assert sent == updated.astimezone(tz).strftime(shape)
    # The API's own field keeps its documented form whatever the placeholder does.
    assert api_view["date_updated"] == updated.astimezone(ZoneInfo("Europe/Moscow")).strftime(
        "%Y-%m-%d %H:%M:%S")
    assert Delivery.objects.get().state == "sent"
