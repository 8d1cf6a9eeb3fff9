"""Revocation in the admin (issue 13, item 5): owners and admins revoke
every widget link of a shop (behind a confirmation) and issue, list and
revoke widget API tokens on the shop page, each recorded in the shop's
history; viewers see what exists but change nothing; after a revocation the
ticket's next event writes a fresh link into its "CRM card" field."""

import base64
import re

import pytest
import requests
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from integration.models import Role, Shop, ShopSecret
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from integration.widget.links import widget_link_build
from sandbox.hde import seed as hde_fields
from tests.fixtures_portal import pump_dispatcher
from tests.refusals import not_found

TICKET_IVAN = 3


@pytest.fixture
def shop(demo_shop, settings, live_server):
    settings.PORTAL_BASE_URL = live_server.url
    return demo_shop


@pytest.fixture
def people(shop, make_member, make_agency, make_shop):
    stranger_agency = make_agency("Stranger agency")
    make_shop(stranger_agency, name="Stranger shop")
    return {role: make_member(shop.agency, role, username=f"{role}-revoker")
            for role in (Role.OWNER, Role.ADMIN, Role.VIEWER)} | {
        "stranger": make_member(stranger_agency, Role.OWNER, username="stranger-owner")}


def _url(name, shop, *args):
    return reverse(f"admin:integration_shop_{name}", args=[shop.pk, *args])


def _opens(client, link, live_server):
    return client.get(link.removeprefix(live_server.url)).status_code


def _history(shop):
    from integration.console.history import history_words

    return [history_words(e) for e in LogEntry.objects.filter(object_id=str(shop.pk))]


def test_owner_revokes_every_link_after_confirming(client, shop, people, live_server):
    link = widget_link_build(shop=shop, ticket_id=TICKET_IVAN)
    client.force_login(people[Role.OWNER])
    change = client.get(_url("change", shop)).content.decode()
    assert "data-widget-access" in change
    page = client.get(_url("widget_access", shop)).content.decode()
    assert "data-revoke-links" in page
    confirm = client.get(_url("widget_links_revoke", shop))
    assert confirm.status_code == 200 and "data-confirm-revoke" in confirm.content.decode()
    assert _opens(client, link, live_server) == 200  # asking is not doing

    done = client.post(_url("widget_links_revoke", shop))
    assert done.status_code == 302 and done.url == _url("widget_access", shop)
    assert _opens(client, link, live_server) == 403
    fresh = Shop.objects.get(pk=shop.pk)  # the settings as they are now
    assert _opens(client, widget_link_build(shop=fresh, ticket_id=TICKET_IVAN),
                  live_server) == 200
    assert _history(shop) == ["Revoked every widget link of the shop."]
    history = client.get(_url("history", shop)).content.decode()
    assert "Revoked every widget link" in history and people[Role.OWNER].username in history


@pytest.mark.parametrize("who", ["viewer", "stranger"])
def test_viewers_and_strangers_cannot_revoke(client, shop, people, live_server, who):
    link = widget_link_build(shop=shop, ticket_id=TICKET_IVAN)
    client.force_login(people[Role.VIEWER if who == "viewer" else "stranger"])
    page = client.get(_url("widget_access", shop))
    if who == "viewer":
        assert page.status_code == 200 and "data-revoke-links" not in page.content.decode()
        assert "issue-token" not in page.content.decode()
        expected = 403
    else:
        assert not_found(page)  # another agency's shop is a missing one
        expected = 302  # the dashboard, as for a missing shop (tests.refusals)
    assert client.get(_url("widget_links_revoke", shop)).status_code == expected
    assert client.post(_url("widget_links_revoke", shop)).status_code == expected
    assert client.post(_url("widget_token_issue", shop), {"label": "x"}).status_code == expected
    token = ShopSecret.objects.get(shop=shop, kind="widget_token")
    assert client.post(_url("widget_token_revoke", shop, token.pk)).status_code == expected
    token.refresh_from_db()
    assert token.revoked_at is None
    assert _opens(client, link, live_server) == 200
    assert _history(shop) == []


def test_admin_issues_lists_and_revokes_widget_tokens(client, shop, people, live_server):
    admin_user = people[Role.ADMIN]
    client.force_login(admin_user)
    issued = client.post(_url("widget_token_issue", shop), {"label": "Sidebar of team B"})
    html = issued.content.decode()
    assert issued.status_code == 200 and "no-cache" in issued["Cache-Control"]
    token = re.search(r"<code data-token>([^<]+)</code>", html).group(1)
    api = f"{live_server.url}/api/v1/context"

    def api_status():
        return requests.get(api, params={"email": "ivan.petrov@example.ru"}, timeout=10,
                            headers={"Authorization": f"Bearer {token}"}).status_code

    assert api_status() == 200
    listing = client.get(_url("widget_access", shop)).content.decode()
    assert token not in listing  # shown once
    secret = ShopSecret.objects.get(shop=shop, label="Sidebar of team B")
    row = listing.split(f'data-token-row="{secret.pk}"')[1].split("</tr>")[0]
    assert "Sidebar of team B" in row and f"…{token[-4:]}" in row
    assert admin_user.username in row and row.count("—") == 1  # used, not revoked
    secret.refresh_from_db()
    assert secret.created_by == admin_user and secret.last_used_at is not None

    revoked = client.post(_url("widget_token_revoke", shop, secret.pk))
    assert revoked.status_code == 302
    assert api_status() == 401
    assert not_found(client.post(_url("widget_token_revoke", shop, secret.pk)))
    assert client.get(_url("widget_token_issue", shop)).status_code == 405
    assert _history(shop) == [
        f"Revoked the widget API token “Sidebar of team B” (…{token[-4:]}).",
        f"Issued a widget API token “Sidebar of team B” (…{token[-4:]}).",
    ]
    # The fixture's token (issued by a server command) is listed as such and still works.
    assert "server command" in client.get(_url("widget_access", shop)).content.decode()


def test_the_next_ticket_event_writes_a_fresh_link_after_a_revocation(client, wired_shop,
                                                                      people, live_server):
    hde = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy)
    ticket = hde.create_ticket(title="Когда привезут заказ?", description="Жду",
                               user_email="ivan.petrov@example.ru")
    pump_dispatcher()
    old = hde.get_ticket(ticket.id).custom_fields[hde_fields.CRM_CARD]
    assert requests.get(old, timeout=10).status_code == 200

    client.force_login(people[Role.OWNER])
    client.post(_url("widget_links_revoke", wired_shop))
    assert requests.get(old, timeout=10).status_code == 403

    auth = base64.b64encode(f"hde:{wired_shop.webhook_secret}".encode()).decode()

    def reply(post_id):
        response = client.post(reverse("hook-hde", args=[wired_shop.public_id]),
                               data={"event": "new_reply", "ticket_id": ticket.id,
                                     "post_id": post_id},
                               content_type="application/json",
                               HTTP_AUTHORIZATION=f"Basic {auth}")
        assert response.status_code == 202
        return hde.get_ticket(ticket.id).custom_fields[hde_fields.CRM_CARD]

    fresh = reply(9001)
    assert fresh != old and requests.get(fresh, timeout=10).status_code == 200
    assert requests.get(old, timeout=10).status_code == 403
    # One fresh link per revocation: the next reply leaves it alone.
    assert reply(9002) == fresh
    # After the next revocation, a change of the ticket (an operator moves it
    # on) writes the fresh link just as well.
    client.post(_url("widget_links_revoke", wired_shop))
    hde.update_ticket(ticket.id, status_id="process")
    pump_dispatcher()
    changed = hde.get_ticket(ticket.id).custom_fields[hde_fields.CRM_CARD]
    assert changed not in (old, fresh) and requests.get(changed, timeout=10).status_code == 200
