"""Newly issued secrets are shown once, on a page of their own that no cache
keeps, and never in a Django message: messages travel in a signed but
readable cookie (or rest in the session), so a plaintext there goes back and
forth with every request and stays in the browser.

The finding: "Issue a new HDE webhook secret" put the plaintext into a
message. Every shop action that issues a secret is checked here, through the
admin's changelist as a browser posts it.
"""

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse

from integration.models import SecretKind, ShopSecret
from integration.tenancy.secrets import shop_secret_match

ACTIONS = {
    "issue_hde_webhook_secret": SecretKind.HDE_WEBHOOK,
    "issue_retailcrm_trigger_secret": SecretKind.RETAILCRM_TRIGGER,
}


def _issuing_actions():
    """Every action of the shop admin whose name says it issues something:
    a new one added later is checked too."""
    from django.contrib import admin

    from integration.models import Shop

    shop_admin = admin.site._registry[Shop]
    return [name for name in shop_admin.actions if "issue" in name]


def test_every_issuing_action_is_covered():
    assert set(_issuing_actions()) == set(ACTIONS)


@pytest.mark.django_db
@pytest.mark.parametrize("action", list(ACTIONS))
def test_a_new_secret_is_shown_once_on_its_own_page_and_never_in_a_message(
        client, two_tenants, action):
    shop = two_tenants["a"]["shop"]
    client.force_login(two_tenants["a"]["owner"])
    response = client.post(reverse("admin:integration_shop_changelist"),
                           {"action": action, "_selected_action": [shop.pk], "post": "yes"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    token = response.context["issued"][0]["token"]
    assert token in page and shop_secret_match(shop=shop, kind=ACTIONS[action],
                                                presented=token)

    # Not in a message: no messages cookie carries it, the session holds
    # nothing of it, and the next page does not show it again.
    assert token not in str(response.cookies.get("messages", ""))
    session = SessionStore(session_key=client.session.session_key)
    assert token not in str(dict(session.items()))
    again = client.get(reverse("admin:integration_shop_changelist"))
    assert token not in again.content.decode()
    assert token not in str(client.cookies.get("messages", ""))


@pytest.mark.django_db
def test_viewers_get_no_secret(client, two_tenants):
    shop = two_tenants["a"]["shop"]
    client.force_login(two_tenants["a"]["viewer"])
    response = client.post(reverse("admin:integration_shop_changelist"),
                           {"action": "issue_hde_webhook_secret", "_selected_action": [shop.pk],
                            "post": "yes"})
    assert not (response.context or {}).get("issued")
    assert not ShopSecret.objects.filter(shop=shop, kind=SecretKind.HDE_WEBHOOK).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("action", list(ACTIONS))
def test_the_action_asks_before_it_revokes_a_live_shops_secret(client, two_tenants, action):
    """A new secret revokes the current one at once, so the action first
    names the shops and says which are live; nothing is issued until "yes"."""
    shop = two_tenants["a"]["shop"]
    assert shop.active
    client.force_login(two_tenants["a"]["owner"])
    changelist = reverse("admin:integration_shop_changelist")
    before = list(ShopSecret.objects.filter(shop=shop).values_list("pk", "revoked_at"))
    asked = client.post(changelist, {"action": action, "_selected_action": [shop.pk]})
    page = asked.content.decode()
    assert asked.status_code == 200 and not asked.context.get("issued")
    assert shop.name in page and 'id="active-warning"' in page
    assert 'name="post" value="yes"' in page and f'name="action" value="{action}"' in page
    assert list(ShopSecret.objects.filter(shop=shop).values_list("pk", "revoked_at")) == before

    # The confirmation page's own form, posted back, issues.
    confirmed = client.post(changelist, {"action": action, "_selected_action": [shop.pk],
                                         "post": "yes"})
    assert confirmed.context["issued"][0]["shop"] == shop
