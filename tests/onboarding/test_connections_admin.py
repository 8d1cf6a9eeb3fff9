"""The admin's "Test connections" action against both emulators."""

from django.contrib.messages import get_messages
from django.urls import reverse

from integration.models import ConnectionStatus, Role


def _run_action(client, shop):
    response = client.post(reverse("admin:integration_shop_changelist"),
                           {"action": "test_connections", "_selected_action": [shop.pk]},
                           follow=True)
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)] or [
        (m.level_tag, str(m)) for m in response.context["messages"]]


def test_both_connections_pass(client, demo_shop, make_member):
    client.force_login(make_member(demo_shop.agency, Role.ADMIN, username="tester"))
    messages = _run_action(client, demo_shop)
    assert [level for level, _ in messages] == ["success", "success"]
    assert "all needed rights present" in messages[0][1]
    demo_shop.helpdeskeddy.refresh_from_db()
    assert demo_shop.helpdeskeddy.hde_user_id == 1  # the key's owner, for the loop guard
    assert demo_shop.helpdeskeddy.status == ConnectionStatus.OK


def test_missing_rights_and_wrong_key_are_reported(client, demo_shop, make_member,
                                                   rc_emulator):
    client.force_login(make_member(demo_shop.agency, Role.ADMIN, username="tester2"))
    connection = demo_shop.retailcrm
    connection.api_key = rc_emulator.demo["restricted_keys"]["read_only"]
    connection.save()
    level, text = _run_action(client, demo_shop)[0]
    # The key works: missing rights switch their features off (a warning
    # that names them), the connection stays healthy.
    assert level == "warning" and "missing rights, these features are off" in text
    assert "create tasks for managers" in text
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.OK
    connection.api_key = "wrong-key-123456"
    connection.save()
    level, text = _run_action(client, demo_shop)[0]
    assert level == "error"
    # What is wrong and what to change, as the wizard says it; the vendor
    # named once.
    assert text.startswith(f"{demo_shop.name} · RetailCRM refused this API key. Copy the key "
                           "again"), text
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_ATTENTION
    assert "wrong-key-123456" not in text


def test_a_glitch_on_a_working_connection_is_not_called_a_wrong_url(client, demo_shop,
                                                                     make_member):
    """RetailCRM (or a proxy before it) sends a web page once: for a
    connection that has worked, the test says so and to try again, instead
    of telling the admin to change a URL that is right."""
    from sandbox.retailcrm.models import Account as RcAccount

    client.force_login(make_member(demo_shop.agency, Role.ADMIN, username="glitch"))
    assert _run_action(client, demo_shop)[0][0] == "success"  # it has worked
    RcAccount.objects.filter(code="demo").update(fault="html")
    level, text = _run_action(client, demo_shop)[0]
    assert level == "error" and "although this connection has worked" in text, text
    assert "Use the address of your account" not in text
