"""Newly issued secrets are shown once, on a page of their own that no cache
keeps, and never in a Django message: messages travel in a signed but
readable cookie (or rest in the session), so a plaintext there goes back and
forth with every request and stays in the browser.

The finding: "Issue a new HDE webhook secret" put the plaintext into a
message. Every shop action that issues a secret is checked here, through the
admin's changelist as a browser posts it.
"""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.sessions.backends.db import SessionStore
from django.urls import reverse
from django.utils import timezone

from integration.models import SecretKind, ShopSecret
from integration.tenancy.secret_confirmation import MAX_AGE
from integration.tenancy.secrets import shop_secret_issue, shop_secret_match
from tests.fixtures_portal import hidden_fields

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


def _confirm(client, action, shops):
    """Choose the action for `shops` on the list, then press "Yes" on the
    confirmation page: what the browser posts, hidden fields included."""
    changelist = reverse("admin:integration_shop_changelist")
    asked = client.post(changelist, {"action": action,
                                     "_selected_action": [shop.pk for shop in shops]})
    assert asked.status_code == 200 and 'name="seen"' in asked.content.decode()
    return client.post(changelist, hidden_fields(asked.content.decode()))


@pytest.mark.django_db
@pytest.mark.parametrize("action", list(ACTIONS))
def test_a_new_secret_is_shown_once_on_its_own_page_and_never_in_a_message(
        client, two_tenants, action):
    shop = two_tenants["a"]["shop"]
    client.force_login(two_tenants["a"]["owner"])
    response = _confirm(client, action, [shop])
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
    shop_secret_issue(shop=shop, kind=ACTIONS[action], replace=True)
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
    confirmed = client.post(changelist, hidden_fields(page))
    assert confirmed.context["issued"][0]["shop"] == shop


def client_for(user):
    from django.test import Client

    other = Client()
    other.force_login(user)
    return other


def _active(shop, kind):
    return list(ShopSecret.objects.filter(shop=shop, kind=kind, revoked_at__isnull=True)
                .values_list("pk", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize("action", list(ACTIONS))
def test_the_page_sent_again_issues_nothing_more(client, two_tenants, action):
    """The page that shows the secrets is the answer to a POST: a reload (or
    back and "Yes" again) sends it again. It must not revoke the secret the
    admin has just copied into the vendor."""
    shop, kind = two_tenants["a"]["shop"], ACTIONS[action]
    client.force_login(two_tenants["a"]["owner"])
    changelist = reverse("admin:integration_shop_changelist")
    asked = client.post(changelist, {"action": action, "_selected_action": [shop.pk]})
    fields = hidden_fields(asked.content.decode())
    first = client.post(changelist, fields)
    token = first.context["issued"][0]["token"]

    again = client.post(changelist, fields)
    page = again.content.decode()
    assert again.status_code == 200 and not again.context["issued"]
    assert 'id="already-issued"' in page and shop.name in page and token not in page
    assert "is in force" in page
    assert shop_secret_match(shop=shop, kind=kind, presented=token)
    assert len(_active(shop, kind)) == 1

    # Another admin who opened the confirmation before it was posted: the
    # secret changed since, so theirs issues nothing either.
    other = client_for(two_tenants["a"]["admin"])
    late = hidden_fields(other.post(changelist, {"action": action,
                                                 "_selected_action": [shop.pk]}).content.decode())
    client.post(changelist, hidden_fields(
        client.post(changelist, {"action": action, "_selected_action": [shop.pk]})
        .content.decode()))
    newest = _active(shop, kind)
    answer = other.post(changelist, late, HTTP_ACCEPT_LANGUAGE="ru")
    assert not answer.context["issued"] and _active(shop, kind) == newest
    assert "ничего не выпущено повторно" in answer.content.decode()


@pytest.mark.django_db
def test_a_confirmation_not_made_here_or_too_old_asks_again(client, two_tenants, make_shop):
    """"Yes" issues only with the record this user's confirmation page
    carried, for the shops it showed, within the hour: another admin's form,
    a forged or missing record, or more shops than it showed ask again."""
    shop, kind = two_tenants["a"]["shop"], SecretKind.HDE_WEBHOOK
    action = "issue_hde_webhook_secret"
    changelist = reverse("admin:integration_shop_changelist")
    client.force_login(two_tenants["a"]["owner"])
    fields = hidden_fields(client.post(changelist, {
        "action": action, "_selected_action": [shop.pk]}).content.decode())

    def refused(answer):
        page = answer.content.decode()
        return (answer.status_code == 200 and 'id="confirm-expired"' in page
                and not answer.context.get("issued") and _active(shop, kind) == [])

    assert refused(client_for(two_tenants["a"]["admin"]).post(changelist, fields))
    assert refused(client.post(changelist, {**fields, "seen": ["forged"]}))
    assert refused(client.post(changelist, {**fields, "seen": [fields["seen"][0][:-2] + "xx"]}))
    assert refused(client.post(changelist, {k: v for k, v in fields.items() if k != "seen"}))
    second = make_shop(two_tenants["a"]["agency"], name="Shop A2")
    assert refused(client.post(changelist, {**fields,
                                            "_selected_action": [shop.pk, second.pk]}))
    # Another agency's owner posting this form reaches nothing of agency A.
    outsider = client_for(two_tenants["b"]["owner"])
    outsider.post(changelist, fields)
    assert _active(shop, kind) == []

    with time_machine.travel(timezone.now() + timedelta(seconds=MAX_AGE + 5)):
        stale = client.post(changelist, fields)
        assert refused(stale)
        # The page asked again with a fresh record: pressing "Yes" there issues.
        issued = client.post(changelist, hidden_fields(stale.content.decode()))
    assert issued.context["issued"][0]["shop"] == shop and len(_active(shop, kind)) == 1


@pytest.mark.django_db
def test_the_confirmation_says_what_it_will_not_do(client, two_tenants, make_shop):
    """Shops the user may only view are named apart, and with none left there
    is no "Yes"; past the 20 an action issues for, the rest are counted."""
    from integration.models import Membership, Role

    admin = two_tenants["a"]["admin"]
    Membership.objects.create(user=admin, agency=two_tenants["b"]["agency"], role=Role.VIEWER)
    shop_a, shop_b = two_tenants["a"]["shop"], two_tenants["b"]["shop"]
    client.force_login(admin)
    changelist = reverse("admin:integration_shop_changelist")

    def ask(shops):
        return client.post(changelist, {"action": "issue_hde_webhook_secret",
                                        "_selected_action": [s.pk for s in shops]}).content.decode()

    # Without a secret in force, nothing stops working: the page does not say it would.
    fresh = ask([shop_a])
    assert "no secret in force yet" in fresh and "stops working" not in fresh
    assert 'id="active-warning"' not in fresh

    shop_secret_issue(shop=shop_a, kind=SecretKind.HDE_WEBHOOK, replace=True)
    both = ask([shop_a, shop_b])
    listed = both.split('id="shops-to-reissue"')[1].split("</ul>")[0]
    assert "Shop A" in listed and "Shop B" not in listed
    assert 'id="not-editable"' in both and "Shop B" in both.split('id="not-editable"')[1]
    assert "One shop is active" in both and "Each secret in force stops working" in both

    only_b = ask([shop_b])
    assert 'id="nothing-to-issue"' in only_b and "Yes, issue new secrets" not in only_b
    fields = hidden_fields(only_b)
    client.post(changelist, fields)
    assert not ShopSecret.objects.filter(shop=shop_b).exists()

    # The 20 are counted among the shops the user may change: a view-only
    # one is named apart, never hidden among those left out.
    many = [shop_b, shop_a] + [make_shop(two_tenants["a"]["agency"], name=f"Shop A{n}")
                               for n in range(21)]
    page = ask(many)
    assert "2 more chosen shops are left out" in page
    assert "Shop B" in page.split('id="not-editable"')[1]
    assert page.count('name="_selected_action"') == 21  # 20 to issue, 1 to refuse
