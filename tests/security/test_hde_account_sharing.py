"""One active shop per HelpDeskEddy account and key, and reconciliation
never takes over another shop's tickets (integration.tenancy.hde_accounts).

The finding: a second active shop wired to the same HDE account back-filled
that account's open tickets and wrote notes with its own links on tickets
another shop had already handled.
"""

from html import unescape

import pytest
from django.urls import reverse

from integration.models import (
    ConnectionStatus,
    HelpDeskEddyConnection,
    RetailCrmConnection,
    Role,
    SecretKind,
    Shop,
    ShopSettings,
)
from integration.tenancy.hde_accounts import HDE_ACCOUNT_TAKEN, HDE_ACCOUNT_TAKEN_ELSEWHERE
from integration.tenancy.secrets import shop_secret_issue
from integration.tickets.reconcile import tickets_reconcile
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from sandbox.hde.models import Delivery
from sandbox.hde.models import Ticket as HdeTicket
from tests.security.conftest import form_data, shop_url

pytestmark = pytest.mark.django_db(transaction=True)
TAKEN = str(HDE_ACCOUNT_TAKEN)


def _second_shop(first, *, active, make_shop, hde=None):
    """Another shop of the same agency, on the same RetailCRM account; its
    HDE connection is `hde` (url, key) when given."""
    shop = make_shop(first.agency, name="Second shop", active=active)
    rc = first.retailcrm
    RetailCrmConnection.objects.create(shop=shop, base_url=rc.base_url, api_key=rc.api_key,
                                       site_code=rc.site_code, status=ConnectionStatus.OK)
    if hde is not None:
        HelpDeskEddyConnection.objects.create(
            shop=shop, base_url=hde[0], api_key=hde[1], hde_user_id=1,
            agent_email=first.helpdeskeddy.agent_email)
    return shop


def test_reconciliation_leaves_tickets_another_shop_handled(wired_shop, make_shop):
    first = wired_shop
    tickets_reconcile(shop=first)  # the first shop handles the open tickets
    hde = HelpDeskEddyClient.for_connection(first.helpdeskeddy)
    handled = list(HdeTicket.objects.filter(account__code="demo",
                                            status_id__in=["open", "process"])
                   .values_list("hid", flat=True))
    assert handled
    comments = {hid: len(hde.list_comments(hid)) for hid in handled}

    # A second shop on the same HDE account, switched on (here as if saved
    # before the rule, with the same key): its first run back-fills nothing
    # the first shop has seen.
    connection = first.helpdeskeddy
    second = _second_shop(first, active=True, make_shop=make_shop,
                          hde=(connection.base_url, connection.api_key))
    assert tickets_reconcile(shop=second) == 0
    assert {hid: len(hde.list_comments(hid)) for hid in handled} == comments

    # A ticket nobody has seen (webhook lost) is still picked up, once.
    lost = hde.create_ticket(title="Где мой заказ?", description="...",
                             user_email="olga.k@example.ru")
    Delivery.objects.all().delete()
    assert tickets_reconcile(shop=second) == 1
    assert tickets_reconcile(shop=first) == 0
    assert len(hde.list_comments(lost.id)) == 1


def test_the_shop_page_refuses_a_second_active_shop_on_the_same_account_and_key(
        wired_shop, owner_client, make_shop, hde_emulator):
    first = wired_shop
    connection = first.helpdeskeddy
    second = _second_shop(first, active=False, make_shop=make_shop)
    client = owner_client(second)
    url = shop_url(second)

    # Wiring the inactive shop to the account is allowed; switching it on is not.
    response = client.post(url, form_data(client.get(url), **{
        "helpdeskeddy-0-base_url": connection.base_url,
        "helpdeskeddy-0-agent_email": connection.agent_email,
        "helpdeskeddy-0-api_key": connection.api_key}))
    assert response.status_code == 302
    response = client.post(url, form_data(client.get(url), active="on"))
    assert response.status_code == 200
    assert TAKEN in response.content.decode()
    assert not Shop.objects.get(pk=second.pk).active

    # Both at once (switched on and wired in one save): refused too.
    HelpDeskEddyConnection.objects.filter(shop=second).delete()
    response = client.post(url, form_data(client.get(url), **{
        "active": "on", "helpdeskeddy-0-base_url": connection.base_url,
        "helpdeskeddy-0-agent_email": connection.agent_email,
        "helpdeskeddy-0-api_key": connection.api_key}))
    assert response.status_code == 200 and TAKEN in response.content.decode()
    assert not Shop.objects.get(pk=second.pk).active
    assert not HelpDeskEddyConnection.objects.filter(shop=second).exists()

    # Another HDE account: fine.
    other = hde_emulator.second
    response = client.post(url, form_data(client.get(url), **{
        "active": "on", "helpdeskeddy-0-base_url": other["url"],
        "helpdeskeddy-0-agent_email": other["email"],
        "helpdeskeddy-0-api_key": other["api_key"]}))
    assert response.status_code == 302
    assert Shop.objects.get(pk=second.pk).active

    # And the first shop itself saves as before.
    client = owner_client(first)
    response = client.post(shop_url(first), form_data(client.get(shop_url(first))))
    assert response.status_code == 302


def test_the_wizard_refuses_the_account_and_key_of_an_active_shop(wired_shop, client,
                                                                  make_shop, make_member):
    first = wired_shop
    connection = first.helpdeskeddy
    draft = _second_shop(first, active=False, make_shop=make_shop)
    client.force_login(make_member(first.agency, Role.OWNER, username="wizard-owner"))
    step = reverse("admin:console-wizard-hde", args=[draft.public_id])
    response = client.post(step, {"base_url": connection.base_url,
                                  "agent_email": connection.agent_email,
                                  "api_key": connection.api_key})
    assert response.status_code == 200 and TAKEN in response.content.decode()
    assert not HelpDeskEddyConnection.objects.filter(shop=draft).exists()

    # Taken meanwhile: a finished draft on the same account and key is not
    # switched on, and says why.
    HelpDeskEddyConnection.objects.create(
        shop=draft, base_url=connection.base_url, api_key=connection.api_key,
        agent_email=connection.agent_email, hde_user_id=1)
    ShopSettings.objects.update_or_create(shop=draft, defaults={
        "normal_priority_id": 2, "high_priority_id": 1})
    for kind in (SecretKind.HDE_WEBHOOK, SecretKind.RETAILCRM_TRIGGER):
        shop_secret_issue(shop=draft, kind=kind)
    response = client.post(reverse("admin:console-wizard-check", args=[draft.public_id]),
                           {"activate": "1"}, follow=True)
    assert TAKEN in response.content.decode()
    assert not Shop.objects.get(pk=draft.pk).active


def test_another_agency_is_refused_without_being_told_to_deactivate_a_shop(
        wired_shop, client, make_agency, make_shop, make_member):
    """Someone in another agency enters the HDE account and key an active
    shop here uses: the wizard refuses (two shops would handle every
    ticket), without asking to deactivate a shop they cannot see, or
    naming it or its agency."""
    connection = wired_shop.helpdeskeddy
    rival = make_agency("Rival Agency")
    draft = make_shop(rival, name="Rival shop", active=False)
    client.force_login(make_member(rival, Role.OWNER, username="rival-owner"))
    response = client.post(reverse("admin:console-wizard-hde", args=[draft.public_id]),
                           {"base_url": connection.base_url,
                            "agent_email": connection.agent_email,
                            "api_key": connection.api_key}, HTTP_ACCEPT_LANGUAGE="en")
    html = unescape(response.content.decode())
    assert response.status_code == 200 and str(HDE_ACCOUNT_TAKEN_ELSEWHERE) in html
    assert "Deactivate" not in html and TAKEN not in html
    assert wired_shop.name not in html and wired_shop.agency.name not in html
    assert not HelpDeskEddyConnection.objects.filter(shop=draft).exists()
