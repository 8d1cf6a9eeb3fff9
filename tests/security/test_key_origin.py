"""A stored API key is bound to the account address (scheme, host, port and
path) it was entered for.

Why: the shop page keeps a stored key when its field is left blank. Without
the binding, an admin (or anyone with the admin's session) could move the URL
to a host of their choosing, leave the key blank, and the portal would hand
the key over there: on "Test connections", in every background job, and
even while re-rendering a refused form (the HDE pick-lists). The listener
below plays that host; it must never see a single request.
"""

import re

import pytest

from integration.models import (
    ApiCall,
    ConnectionStatus,
    HelpDeskEddyConnection,
    RetailCrmConnection,
)
from integration.vendors.errors import ApiRefusedByPolicy
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from integration.vendors.retailcrm import RetailCrmClient
from tests.security.conftest import (
    form_data,
    formset_errors,
    run_connection_test,
    shop_url,
)

VENDORS = {
    "retailcrm": (RetailCrmConnection, "/sandbox/retailcrm/demo"),
    "helpdeskeddy": (HelpDeskEddyConnection, "/sandbox/hde/demo"),
}
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("prefix", list(VENDORS))
def test_a_new_origin_without_the_key_is_refused_and_the_key_never_goes_there(
        demo_shop, owner_client, listener, prefix):
    model, path = VENDORS[prefix]
    stored = model.objects.get(shop=demo_shop)
    elsewhere = listener()
    client = owner_client(demo_shop)
    url = shop_url(demo_shop)

    response = client.post(url, form_data(client.get(url), **{
        f"{prefix}-0-base_url": elsewhere.url + path, f"{prefix}-0-api_key": ""}))
    assert response.status_code == 200
    assert "api_key" in formset_errors(response, prefix)
    assert "enter the API key again" in response.content.decode()
    after = model.objects.get(pk=stored.pk)
    assert (after.base_url, after.api_key) == (stored.base_url, stored.api_key)

    # The saved rows still work, and "Test connections" uses them.
    assert [level for level, _ in run_connection_test(client, demo_shop)] == ["success"] * 2
    assert elsewhere.received == []


def test_a_refused_form_never_reads_hde_lists_from_the_typed_url(
        wired_shop, owner_client, listener):
    """The automation settings offer HDE's priorities by name; the page used
    to read them with the stored key from the URL in the posted (refused,
    never saved) form."""
    elsewhere = listener()
    client = owner_client(wired_shop)
    url = shop_url(wired_shop)
    page = client.get(url)
    # The lists were read: HDE's priorities are offered by name.
    assert re.search(r'<option value="\d+"[^>]*>Срочно</option>', page.content.decode())

    response = client.post(url, form_data(page, **{
        "name": "",  # refused for another reason too: the page is rendered again
        "helpdeskeddy-0-base_url": elsewhere.url + "/sandbox/hde/demo",
        "helpdeskeddy-0-api_key": ""}))
    assert response.status_code == 200
    assert response.context["errors"]
    assert elsewhere.received == []
    assert HelpDeskEddyConnection.objects.get(shop=wired_shop).base_url.startswith(
        "http://localhost:")


@pytest.mark.parametrize("prefix", list(VENDORS))
def test_entering_the_key_again_moves_it_to_the_new_origin(demo_shop, owner_client,
                                                           live_server, prefix):
    """localhost and 127.0.0.1 are two origins of the same emulator: with the
    key typed again the move is accepted and the key works there."""
    model, path = VENDORS[prefix]
    stored = model.objects.get(shop=demo_shop)
    new_url = live_server.url.replace("localhost", "127.0.0.1") + path
    client = owner_client(demo_shop)
    url = shop_url(demo_shop)

    response = client.post(url, form_data(client.get(url), **{
        f"{prefix}-0-base_url": new_url, f"{prefix}-0-api_key": stored.api_key}))
    assert response.status_code == 302, response.context and response.context["errors"]
    after = model.objects.get(pk=stored.pk)
    assert after.base_url == new_url
    assert after.key_origin == new_url.split("/sandbox")[0] + path
    assert [level for level, _ in run_connection_test(client, demo_shop)] == ["success"] * 2


@pytest.mark.parametrize("client_class,prefix", [(RetailCrmClient, "retailcrm"),
                                                 (HelpDeskEddyClient, "helpdeskeddy")])
@pytest.mark.parametrize("how", ["database", "memory"])
def test_the_client_refuses_to_send_a_key_to_another_origin(demo_shop, listener, connects,
                                                           client_class, prefix, how):
    """The second line: a URL changed without its key, in the database (a
    bulk update, a restore) or in memory (an unsaved form's object), makes
    the client refuse before anything is sent."""
    model, path = VENDORS[prefix]
    elsewhere = listener()
    connection = model.objects.get(shop=demo_shop)
    if how == "database":
        model.objects.filter(pk=connection.pk).update(base_url=elsewhere.url + path)
        connection = model.objects.get(pk=connection.pk)
    else:
        connection.base_url = elsewhere.url + path
    client = client_class.for_connection(connection)
    with pytest.raises(ApiRefusedByPolicy):
        client.request("GET", "/api/credentials" if prefix == "retailcrm" else "/api/v2/users/")
    assert elsewhere.received == []
    assert connects == []  # refused before a socket was opened
    call = ApiCall.objects.filter(shop=demo_shop, provider=prefix).latest("created_at")
    assert call.outcome == "refused_by_policy"
    saved = model.objects.get(pk=connection.pk)
    assert saved.status == ConnectionStatus.NEEDS_ATTENTION
    assert saved.last_error == "refused by policy"


@pytest.mark.django_db
def test_rows_saved_before_are_bound_to_their_origin_and_lose_user_info(make_agency, make_shop):
    """Migration 0016: keys stored before the binding keep working where they
    are; credentials typed into a URL (they leaked into headers) go."""
    from importlib import import_module

    from django.apps import apps

    shop = make_shop(make_agency("Old rows"), name="Old rows")
    connection = HelpDeskEddyConnection.objects.create(
        shop=shop, base_url="https://desk.example", agent_email="bot@desk.example",
        api_key="old-key-123456")
    HelpDeskEddyConnection.objects.filter(pk=connection.pk).update(
        base_url="https://bot:pw@Desk.example:8443/support", key_origin="")
    import_module("integration.migrations.0017_connection_key_origin").bind_existing(apps, None)
    connection.refresh_from_db()
    assert connection.base_url == "https://Desk.example:8443/support"
    assert connection.key_origin == "https://desk.example:8443"
    assert not connection.key_bound  # until 0023 widens it to the account
    import_module("integration.migrations.0024_key_bound_to_account").widen_bindings(apps, None)
    connection.refresh_from_db()
    assert connection.key_origin == "https://desk.example:8443/support"
    assert connection.key_bound and connection.origin == "https://desk.example:8443"


@pytest.mark.django_db
def test_migration_0023_widens_only_bindings_that_held(make_agency, make_shop):
    """A key bound to its URL's origin keeps working at that URL's account; a
    key whose URL had moved to another origin without it stays refused."""
    from importlib import import_module

    from django.apps import apps

    shop = make_shop(make_agency("Bindings"), name="Bindings")
    held = RetailCrmConnection.objects.create(shop=shop, base_url="https://a.example/crm/",
                                              api_key="key-123456789")
    RetailCrmConnection.objects.filter(pk=held.pk).update(key_origin="https://a.example:443")
    moved = HelpDeskEddyConnection.objects.create(
        shop=shop, base_url="https://b.example/desk", agent_email="bot@b.example",
        api_key="key-987654321")
    HelpDeskEddyConnection.objects.filter(pk=moved.pk).update(
        key_origin="https://elsewhere.example:443")
    import_module("integration.migrations.0024_key_bound_to_account").widen_bindings(apps, None)
    held.refresh_from_db()
    moved.refresh_from_db()
    assert held.key_origin == "https://a.example:443/crm" and held.key_bound
    assert moved.key_origin == "https://elsewhere.example:443" and not moved.key_bound


@pytest.mark.parametrize("prefix,other", [("retailcrm", "/sandbox/retailcrm/agency-second"),
                                          ("helpdeskeddy", "/sandbox/hde/agency-second")])
def test_another_account_on_the_same_host_needs_the_key_again(demo_shop, owner_client,
                                                              live_server, prefix, other):
    """The finding: the Demo URL moved to /sandbox/retailcrm/agency-second
    (same origin) with the key blank was accepted, and the Demo key was sent
    to another account. Same origin, other path: refused like another host."""
    model, path = VENDORS[prefix]
    stored = model.objects.get(shop=demo_shop)
    client = owner_client(demo_shop)
    url = shop_url(demo_shop)
    moved = stored.base_url.replace(path, other)
    assert moved != stored.base_url

    response = client.post(url, form_data(client.get(url), **{
        f"{prefix}-0-base_url": moved, f"{prefix}-0-api_key": ""}))
    assert response.status_code == 200
    assert "api_key" in formset_errors(response, prefix)
    assert "enter the API key again" in response.content.decode()
    assert model.objects.get(pk=stored.pk).base_url == stored.base_url
    assert [level for level, _ in run_connection_test(client, demo_shop)] == ["success"] * 2
    assert not ApiCall.objects.filter(path__contains="agency-second").exists()


@pytest.mark.parametrize("client_class,prefix", [(RetailCrmClient, "retailcrm"),
                                                 (HelpDeskEddyClient, "helpdeskeddy")])
@pytest.mark.parametrize("how", ["database", "memory"])
def test_the_client_refuses_to_send_a_key_to_another_path_of_its_host(
        demo_shop, listener, connects, client_class, prefix, how):
    """The second line, for a path: a key entered for `<host>/account-a` is
    not sent to `<host>/account-b`, whether the URL changed in the database
    or only in memory."""
    model, _path = VENDORS[prefix]
    host = listener()
    connection = model.objects.get(shop=demo_shop)
    connection.base_url = host.url + "/account-a"
    connection.bind_key()
    connection.save()
    if how == "database":
        model.objects.filter(pk=connection.pk).update(base_url=host.url + "/account-b")
        connection = model.objects.get(pk=connection.pk)
    else:
        connection.base_url = host.url + "/account-b/"
    client = client_class.for_connection(connection)
    with pytest.raises(ApiRefusedByPolicy):
        client.request("GET", "/api/credentials" if prefix == "retailcrm" else "/api/v2/users/")
    assert host.received == []
    assert connects == []
