"""The emulated dispatcher delivers webhooks like HDE's "Send webhook" rules.

Why: the portal's whole flow starts from these calls. Deliveries go over real
HTTP to a recording receiver, with the template rendered as raw text
(docs/vendors/helpdeskeddy.md §11.3), Basic credentials, retries on failure (§11.2) and, most
importantly for the portal's loop guard, the integration's own API changes
firing `ticket_changed` / `new_reply` / `new_comment` rules like the real HDE.
"""

import json
from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from sandbox.hde import dispatcher
from sandbox.hde.dispatcher import PORTAL_WEBHOOK_TEMPLATE, add_webhook_rule, pump
from sandbox.hde.models import Delivery, WebhookRule
from tests.fixtures_hde import basic_credentials


def test_a_new_ticket_is_delivered_with_the_portal_template(hde_client, hde_emulator,
                                                            webhook_receiver):
    rules = add_webhook_rule(
        "demo", name="Portal", events=["new_ticket", "ticket_changed"],
        url=f"{webhook_receiver.url}/hooks/hde/shop-1/", template=PORTAL_WEBHOOK_TEMPLATE,
        username="hde", password="s3cret-value",
    )
    assert [r.events for r in rules] == [["new_ticket"], ["ticket_changed"]]

    ticket = hde_client.create_ticket(title='Заказ "1001A"', description="?",
                                      user_email="anna.smirnova@example.ru")

    # Queued in the API request, sent only by the pump.
    assert webhook_receiver.received == []
    assert pump() == 1
    [hit] = webhook_receiver.received
    assert (hit.method, hit.path) == ("POST", "/hooks/hde/shop-1/")
    assert hit.headers["Content-Type"].startswith("application/json")
    assert json.loads(hit.body) == {"event": "new_ticket", "ticket_id": str(ticket.id)}
    assert basic_credentials(hit.headers) == ("hde", "s3cret-value")
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("sent", 1, 200)
    assert pump() == 0


def test_placeholders_are_substituted_as_raw_text(hde_client, hde_emulator, webhook_receiver):
    template = ('{"id": "{ticket_id}", "n": "{unique_id}", "subject": "{ticket_name}", '
                '"email": "{user_email}", "user": "{user_name}", "status": "{status}", '
                '"priority": "{priority}", "text": "$strip_tags({answer_last})", '
                '"card": "{custom_field_1}", "by": "{last_post_user_id}", "x": "{nope}"}')
    add_webhook_rule("demo", name="Raw", events=["new_ticket"], template=template,
                     url=f"{webhook_receiver.url}/t/{{ticket_id}}")

    ticket = hde_client.create_ticket(
        title='Quote " breaks JSON', description="<p>Hello <b>there</b></p>",
        user_email="anna.smirnova@example.ru", custom_fields={1: "https://p.example/w/1"},
    )
    pump()

    [hit] = webhook_receiver.received
    assert hit.path == f"/t/{ticket.id}"
    assert hit.body == (
        f'{{"id": "{ticket.id}", "n": "{ticket.unique_id}", "subject": "Quote " breaks JSON", '
        '"email": "anna.smirnova@example.ru", "user": "Анна Смирнова", "status": "Открыто", '
        '"priority": "Стандартно", "text": "Hello there", "card": "https://p.example/w/1", '
        '"by": "10", "x": "{nope}"}'
    )


def test_the_integrations_own_changes_fire_rules_like_the_real_hde(hde_client, hde_emulator,
                                                                     webhook_receiver):
    add_webhook_rule(
        "demo", name="All", events=["ticket_changed", "new_reply", "new_comment"],
        url=f"{webhook_receiver.url}/h",
        template="event=x&ticket={ticket_id}&by={last_post_user_id}&prio={priority}",
        body_format="form",
    )

    hde_client.update_ticket(2, priority_id=1, tags=["vip"])
    hde_client.update_ticket(2, priority_id=1)  # no change: no webhook
    hde_client.add_comment(2, "summary")
    hde_client.add_post(2, "reply")
    assert pump() == 3

    bodies = [hit.body for hit in webhook_receiver.received]
    assert bodies == ["event=x&ticket=2&by=10&prio=Срочно", "event=x&ticket=2&by=1&prio=Срочно",
                      "event=x&ticket=2&by=1&prio=Срочно"]
    assert {hit.headers["Content-Type"] for hit in webhook_receiver.received} == {
        "application/x-www-form-urlencoded; charset=utf-8"}
    assert list(Delivery.objects.values_list("event", flat=True)) == [
        "ticket_changed", "new_comment", "new_reply"]


def test_failed_deliveries_are_retried_on_a_short_schedule(hde_client, hde_emulator,
                                                           webhook_receiver):
    add_webhook_rule("demo", name="Flaky", events=["new_reply"], url=f"{webhook_receiver.url}/h",
                     template=dispatcher.portal_webhook_template("new_reply"))
    webhook_receiver.statuses = [500, 503]
    hde_client.add_post(3, "ping")
    now = timezone.now()

    assert pump(now) == 1
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("queued", 1, 500)
    assert pump(now) == 0  # not due yet
    assert pump(now + timedelta(seconds=dispatcher.RETRY_DELAYS[0])) == 1
    assert pump(now + timedelta(seconds=dispatcher.RETRY_DELAYS[0] + dispatcher.RETRY_DELAYS[1])
                ) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("sent", 3, 200)
    assert [json.loads(h.body)["event"] for h in webhook_receiver.received] == ["new_reply"] * 3


def test_an_unreachable_receiver_ends_failed(hde_client, hde_emulator, webhook_receiver):
    add_webhook_rule("demo", name="Dead", events=["new_comment"], url="http://127.0.0.1:9/h",
                     template="{}")
    hde_client.add_comment(3, "x")
    moment = timezone.now()
    for delay in (0, *dispatcher.RETRY_DELAYS):
        moment += timedelta(seconds=delay)
        assert pump(moment) == 1
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.last_status) == (
        "failed", len(dispatcher.RETRY_DELAYS) + 1, None)
    assert "ConnectionError" in delivery.last_error
    assert pump(moment + timedelta(days=1)) == 0


def test_inactive_rules_and_other_accounts_do_not_fire(hde_client, hde_emulator,
                                                       webhook_receiver):
    [rule] = add_webhook_rule("demo", name="Off", events=["new_comment"],
                              url=f"{webhook_receiver.url}/off", template="{}")
    WebhookRule.objects.filter(pk=rule.pk).update(active=False)
    add_webhook_rule("agency-second", name="Other", events=["new_comment"],
                     url=f"{webhook_receiver.url}/other", template="{}")
    hde_client.add_comment(2, "x")
    assert Delivery.objects.count() == 0


def test_the_pump_command_sends_due_deliveries(hde_client, hde_emulator, webhook_receiver):
    add_webhook_rule("demo", name="Cmd", events=["ticket_changed"],
                     url=f"{webhook_receiver.url}/c", template='{"t": "{ticket_id}"}')
    hde_client.update_ticket(4, status_id="process")
    call_command("sandbox_hde_pump", "--once")
    assert [h.body for h in webhook_receiver.received] == ['{"t": "4"}']
