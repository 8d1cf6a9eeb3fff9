"""API keys are write-only in the admin and never shown anywhere afterwards.

Why: an agency's RetailCRM or HDE key opens the whole customer base. A key
that is rendered back into a form, echoed in an error, stored in a log row
or shown in the admin can be copied by anyone who sees that page (a viewer
colleague, a screen share). The shop change form is driven through the
test client exactly as the browser posts it (all inline formsets); vendor
errors come from the emulators over real HTTP.
"""

import pytest
from django.urls import reverse

from integration.models import ApiCall, HelpDeskEddyConnection, RetailCrmConnection, Role
from integration.tenancy.roles import sync_role_groups

OLD_KEY = "rcrm-old-Secret-0001-AAAA"
NEW_KEY = "rcrm-new-Secret-0002-ZZZZ"


def _form_data(response, **overrides):
    """What the browser would post back for the change page in `response`:
    the main form's and every inline form's current values plus management
    forms (a secret field renders empty, so it posts empty)."""
    data = {}

    def add(form):
        for name in form.fields:
            value = form[name].value()
            if name in form.fields and getattr(form.fields[name].widget, "input_type", "") == (
                "password"
            ):
                value = ""
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        add(formset.management_form)
        for form in formset.forms:
            add(form)
    data.update(overrides)
    return data


@pytest.fixture
def owner_on_shop(client, two_tenants):
    """Agency A's owner, logged in, with a RetailCRM connection on shop A."""
    tenant = two_tenants["a"]
    connection = RetailCrmConnection.objects.create(
        shop=tenant["shop"], base_url="https://a.retailcrm.example", api_key=OLD_KEY
    )
    client.force_login(tenant["owner"])
    url = reverse("admin:integration_shop_change", args=[tenant["shop"].pk])
    return client, url, connection


def _assert_no_key(html: str, *keys: str) -> None:
    for key in keys:
        assert key not in html
        assert key[:-4] not in html  # not even most of it


@pytest.mark.django_db
def test_change_form_shows_only_the_masked_hint(owner_on_shop):
    client, url, _connection = owner_on_shop
    page = client.get(url)
    html = page.content.decode()
    _assert_no_key(html, OLD_KEY)
    assert f"••••{OLD_KEY[-4:]}" in html
    assert 'name="retailcrm-0-api_key"' in html


@pytest.mark.django_db
@pytest.mark.parametrize("typed", ["", "   "])
def test_blank_key_keeps_the_stored_one(owner_on_shop, typed):
    """Saving the page without typing a key (e.g. to change the site code)
    must not wipe the key the form could not show."""
    client, url, connection = owner_on_shop
    data = _form_data(client.get(url), **{"retailcrm-0-site_code": "main-store",
                                          "retailcrm-0-api_key": typed})
    response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    connection.refresh_from_db()
    assert connection.api_key == OLD_KEY
    assert connection.site_code == "main-store"


@pytest.mark.django_db
def test_new_key_replaces_the_old_one_and_is_never_rendered(owner_on_shop):
    client, url, connection = owner_on_shop
    response = client.post(url, _form_data(client.get(url), **{
        "retailcrm-0-api_key": f"  {NEW_KEY} ", "_continue": "1",
    }))
    assert response.status_code == 302
    connection.refresh_from_db()
    assert connection.api_key == NEW_KEY  # stripped of the pasted spaces
    html = client.get(response.url).content.decode()
    _assert_no_key(html, NEW_KEY, OLD_KEY)
    assert f"••••{NEW_KEY[-4:]}" in html


@pytest.mark.django_db
def test_invalid_form_does_not_echo_the_typed_key(owner_on_shop):
    """A form error re-renders the page: the freshly typed key must not come
    back in the input, and the stored key stays."""
    client, url, connection = owner_on_shop
    response = client.post(url, _form_data(client.get(url), **{
        "retailcrm-0-base_url": "not a url at all", "retailcrm-0-api_key": NEW_KEY,
    }))
    assert response.status_code == 200
    assert response.context["errors"]
    _assert_no_key(response.content.decode(), NEW_KEY, OLD_KEY)
    connection.refresh_from_db()
    assert connection.api_key == OLD_KEY


@pytest.mark.django_db
def test_new_connection_requires_a_key(client, two_tenants):
    tenant = two_tenants["a"]
    client.force_login(tenant["owner"])
    url = reverse("admin:integration_shop_change", args=[tenant["shop"].pk])
    response = client.post(url, _form_data(client.get(url), **{
        "retailcrm-0-base_url": "https://a.retailcrm.example",
    }))
    assert response.status_code == 200
    retailcrm = next(inline.formset for inline in response.context["inline_admin_formsets"]
                     if inline.formset.prefix == "retailcrm")
    assert "api_key" in retailcrm.errors[0]
    assert not RetailCrmConnection.objects.exists()


@pytest.mark.django_db
def test_viewer_does_not_see_the_key(client, two_tenants):
    tenant = two_tenants["a"]
    RetailCrmConnection.objects.create(
        shop=tenant["shop"], base_url="https://a.retailcrm.example", api_key=OLD_KEY
    )
    client.force_login(tenant["viewer"])
    page = client.get(reverse("admin:integration_shop_change", args=[tenant["shop"].pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="retailcrm-0-api_key"' not in html  # read-only page: no inputs
    _assert_no_key(html, OLD_KEY)


@pytest.fixture
def role_groups(transactional_db):
    """Recreate the role groups a previous transactional test flushed away
    (flush re-sends post_migrate without `apps`, which the project's handler
    ignores; see integration.tenancy.signals)."""
    sync_role_groups()


def _owner_client(client, make_member, shop):
    owner = make_member(shop.agency, Role.OWNER, username=f"owner-{shop.pk}")
    client.force_login(owner)
    return client


def _pages_after_connection_test(client, shop):
    """Run the admin's "Test connections" action, then collect every admin
    page that shows its traces: the result messages, the shop, the API-call
    list and each API-call row."""
    changelist = reverse("admin:integration_shop_changelist")
    responses = {
        "action result": client.post(
            changelist, {"action": "test_connections", "_selected_action": [shop.pk]},
            follow=True,
        ),
        "shop": client.get(reverse("admin:integration_shop_change", args=[shop.pk])),
        "api calls": client.get(reverse("admin:integration_apicall_changelist")),
    }
    for call in ApiCall.objects.filter(shop=shop):
        responses[f"api call {call.pk}"] = client.get(
            reverse("admin:integration_apicall_change", args=[call.pk])
        )
    # A 403 or a login page would pass the "no key" checks vacuously.
    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(responses, 200)
    return {name: response.content.decode() for name, response in responses.items()}


@pytest.mark.django_db(transaction=True)
def test_retailcrm_key_never_reaches_logs_or_admin_pages(
    role_groups, client, make_member, rc_connect, rc_emulator
):
    """A refused key (the vendor's 403 body, our error text, the connection's
    last error) and a working one: neither appears in ApiCall rows or in any
    admin page showing them."""
    wrong_key = rc_emulator.demo["api_key"] + "-revoked-X9"
    connection = rc_connect(key=wrong_key)
    shop = connection.shop
    owner_client = _owner_client(client, make_member, shop)

    pages = _pages_after_connection_test(owner_client, shop)
    assert "RetailCRM" in pages["action result"]
    connection.refresh_from_db()
    assert connection.status == "needs_attention"
    good = rc_connect(key=rc_emulator.demo["api_key"])
    again = _pages_after_connection_test(owner_client, shop)
    pages.update({f"ok {name}": html for name, html in again.items()})
    good.refresh_from_db()
    assert good.status == "ok"

    calls = list(ApiCall.objects.filter(shop=shop))
    assert len(calls) >= 2
    stored = " ".join(f"{c.path} {c.error}" for c in calls) + connection.last_error
    for key in (wrong_key, rc_emulator.demo["api_key"]):
        assert key not in stored
        for name, html in pages.items():
            assert key not in html, name


@pytest.mark.django_db(transaction=True)
def test_hde_key_and_basic_token_never_reach_logs_or_admin_pages(
    role_groups, client, make_member, hde_connect, hde_emulator
):
    """HDE authenticates with Basic base64(email:key): the encoded form is as
    good as the key and must not leak either."""
    import base64

    wrong_key = hde_emulator.demo["api_key"] + "-revoked-X9"
    connection = hde_connect(key=wrong_key)
    shop = connection.shop
    pages = _pages_after_connection_test(_owner_client(client, make_member, shop), shop)
    assert "HelpDeskEddy" in pages["action result"]
    connection = HelpDeskEddyConnection.objects.get(pk=connection.pk)
    assert connection.status == "needs_attention"

    token = base64.b64encode(f"{connection.agent_email}:{wrong_key}".encode()).decode()
    stored = " ".join(f"{c.path} {c.error}" for c in ApiCall.objects.filter(shop=shop))
    stored += connection.last_error
    assert ApiCall.objects.filter(shop=shop).exists()
    for secret in (wrong_key, token):
        assert secret not in stored
        for name, html in pages.items():
            assert secret not in html, name
