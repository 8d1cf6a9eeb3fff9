"""The outbound policy: the portal connects only to public vendor addresses,
over https (http only in development or for an allowed host), never follows
a redirect to another origin, and shows people a vendor's words only when
the vendor was allowed to answer.

Why: a base URL is typed by a shop admin, and the portal sends the request
(with a key) from inside our network. Every refusal below is asserted to
happen before a socket is opened: `connects` records every connect, and the
suite's loopback-only guard turns any non-loopback attempt into an error.
Host names are answered by a resolver the test controls (`resolver`), never
by patching the portal's code.
"""

import pytest
from django import forms
from django.urls import reverse
from django.utils import translation

from integration.customers.context import customer_context_get
from integration.models import (
    ApiCall,
    ConnectionStatus,
    HelpDeskEddyConnection,
    RetailCrmConnection,
    Shop,
)
from integration.models.connections import HttpsURLField
from integration.vendors.errors import ApiRefusedByPolicy, ApiUnauthorized
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from integration.vendors.retailcrm import RetailCrmClient
from tests.security.conftest import form_data, formset_errors, run_connection_test, shop_url

pytestmark = pytest.mark.django_db(transaction=True)

# (URL, production only?) — refused by every form that takes a vendor URL.
REFUSED_URLS = [
    ("http://169.254.169.254/latest/meta-data/", False),
    ("https://169.254.169.254/latest/meta-data/", False),
    ("https://[::ffff:169.254.169.254]/", False),
    ("https://metadata.google.internal/computeMetadata/v1/", False),
    ("https://10.1.2.3:8443/", False),
    ("https://192.168.0.10/", False),
    ("https://[fd00:ec2::254]/", False),
    ("https://[::1]:8443/", True),
    ("https://127.0.0.1:8443/", True),
    ("https://user:secret@demo.retailcrm.example/", False),
    ("ftp://demo.retailcrm.example/", False),
    ("http://demo.retailcrm.example/", True),  # plain http
]

POLICY_ADVICE = ("The portal does not connect to this address: use the vendor's public https:// "
                 "address (no internal or private network addresses).")


@pytest.fixture
def production(settings):
    """The policy as it runs with DEBUG off."""
    settings.OUTBOUND_DEV_MODE = False
    settings.OUTBOUND_ALLOWED_HOSTS = []
    return settings


def _model(client_class):
    return RetailCrmConnection if client_class is RetailCrmClient else HelpDeskEddyConnection


def _mode(request, production_only):
    if production_only:
        request.getfixturevalue("production")


@pytest.mark.parametrize("bad_url,production_only", REFUSED_URLS)
def test_the_shop_page_refuses_internal_and_malformed_urls(
        request, demo_shop, owner_client, connects, bad_url, production_only):
    _mode(request, production_only)
    client = owner_client(demo_shop)
    url = shop_url(demo_shop)
    page = client.get(url)
    connects.clear()
    response = client.post(url, form_data(page, **{
        "helpdeskeddy-0-base_url": bad_url, "helpdeskeddy-0-api_key": "typed-key-1234"}))
    assert response.status_code == 200
    assert "base_url" in formset_errors(response, "helpdeskeddy")
    assert HelpDeskEddyConnection.objects.get(shop=demo_shop).base_url.startswith(
        "http://localhost:")
    assert not [address for address in connects if address not in ("127.0.0.1", "::1")]


@pytest.mark.parametrize("bad_url,production_only", REFUSED_URLS)
def test_the_wizard_refuses_internal_and_malformed_urls(
        request, owner_client, make_agency, make_shop, connects, bad_url, production_only):
    _mode(request, production_only)
    agency = make_agency("Wizard agency")
    draft = make_shop(agency, name="Draft", active=False)
    client = owner_client(draft)
    connects.clear()
    step_one = client.post(reverse("admin:console-wizard-start"), {
        "agency": agency.pk, "name": "New shop", "language": "ru", "base_url": bad_url,
        "api_key": "typed-key-1234", "site_code": ""})
    step_two = client.post(reverse("admin:console-wizard-hde", args=[draft.public_id]), {
        "base_url": bad_url, "agent_email": "agent@example.com", "api_key": "typed-key-1234"})
    for response in (step_one, step_two):
        assert response.status_code == 200
        assert "base_url" in response.context["form"].errors
    assert not Shop.objects.filter(name="New shop").exists()
    assert not HelpDeskEddyConnection.objects.filter(shop=draft).exists()
    assert connects == []


def test_private_addresses_stay_refused_in_development_unless_the_host_is_allowed(
        settings, owner_client, make_agency, make_shop, resolver, connects):
    """DEBUG opens loopback for the emulators, not the private network; an
    on-premises help desk is let in by name."""
    settings.OUTBOUND_DEV_MODE = True
    resolver.answers["helpdesk.corp.example"] = ["10.20.30.40"]
    draft = make_shop(make_agency("On-premises"), name="Draft", active=False)
    client = owner_client(draft)
    wizard = reverse("admin:console-wizard-hde", args=[draft.public_id])
    fields = {"base_url": "http://helpdesk.corp.example/", "agent_email": "a@example.com",
              "api_key": "typed-key-1234"}

    refused = client.post(wizard, fields)
    assert "base_url" in refused.context["form"].errors
    assert resolver.asked["helpdesk.corp.example"] >= 1

    settings.OUTBOUND_ALLOWED_HOSTS = ["helpdesk.corp.example"]
    field = HttpsURLField().formfield()
    assert field.clean("http://helpdesk.corp.example/") == "http://helpdesk.corp.example/"
    with pytest.raises(forms.ValidationError):
        field.clean("http://other.corp.example.invalid@helpdesk.corp.example/")
    assert connects == []


@pytest.fixture
def stored(demo_shop):
    """Store a URL on the demo shop's connections without any form (as an
    old row, a bulk update or a restore would)."""

    def store(model, url):
        connection = model.objects.get(shop=demo_shop)
        connection.base_url = url
        connection.bind_key()  # the key itself is not the point here
        connection.save()
        return connection

    return store


@pytest.mark.parametrize("client_class", [RetailCrmClient, HelpDeskEddyClient])
@pytest.mark.parametrize("bad_url,production_only", [
    ("http://169.254.169.254", False), ("https://[::ffff:a9fe:a9fe]", False),
    ("http://metadata.google.internal", False), ("http://10.1.2.3:8000", False),
    ("https://[::1]:8443", True), ("http://user:pw@localhost:8000", False),
    ("https://2130706433:8443", True),  # 127.0.0.1 written as a number: resolved, refused
])
def test_clients_refuse_internal_addresses_before_connecting(
        request, stored, connects, client_class, bad_url, production_only):
    _mode(request, production_only)
    connection = stored(_model(client_class), bad_url)
    connects.clear()
    with pytest.raises(ApiRefusedByPolicy):
        client_class.for_connection(connection).request("GET", "/api/v2/users/")
    assert connects == []
    assert ApiCall.objects.filter(outcome="refused_by_policy").exists()


@pytest.mark.parametrize("client_class", [RetailCrmClient, HelpDeskEddyClient])
def test_a_name_that_resolves_inside_is_refused_at_connect_time(
        stored, resolver, connects, client_class):
    resolver.answers["vendor.example"] = ["169.254.169.254"]
    connection = stored(_model(client_class), "http://vendor.example")
    connects.clear()
    with pytest.raises(ApiRefusedByPolicy):
        client_class.for_connection(connection).request("GET", "/api/v2/users/")
    assert resolver.asked["vendor.example"] == 1
    assert connects == []


def test_dns_rebinding_is_refused_at_connect_time(demo_shop, owner_client, live_server,
                                                  resolver, connects):
    """The name answers loopback while the form is validated (accepted in
    development) and a private address a moment later, when the portal
    connects: the connect-time check refuses, nothing is sent."""
    port = live_server.url.rsplit(":", 1)[1]
    resolver.answers["rebind.example"] = ["127.0.0.1", "10.0.0.7"]
    client = owner_client(demo_shop)
    url = shop_url(demo_shop)
    key = demo_shop.retailcrm.api_key
    response = client.post(url, form_data(client.get(url), **{
        "retailcrm-0-base_url": f"http://rebind.example:{port}/sandbox/retailcrm/demo",
        "retailcrm-0-api_key": key}))
    assert response.status_code == 302, response.context and response.context["errors"]
    assert resolver.asked["rebind.example"] == 1  # validated: loopback, accepted
    connects.clear()

    messages = run_connection_test(client, demo_shop)
    assert resolver.asked["rebind.example"] >= 2
    assert "10.0.0.7" not in connects
    assert ("error", f"{demo_shop.name} · RetailCRM: {POLICY_ADVICE}") in messages
    demo_shop.retailcrm.refresh_from_db()
    assert demo_shop.retailcrm.last_error == "refused by policy"


def _redirect_to(target):
    return lambda request: (302, {"Location": target + request.path}, {})


@pytest.mark.parametrize("client_class,path", [(RetailCrmClient, "/api/credentials"),
                                               (HelpDeskEddyClient, "/api/v2/users/")])
def test_a_redirect_to_another_origin_is_refused(stored, listener, client_class, path):
    """Another origin (here: another port) is refused before anything is sent
    there; a redirect within the origin is followed (same origin, same key)."""
    other = listener()
    first = listener(_redirect_to(other.url))
    connection = stored(_model(client_class), first.url)
    with pytest.raises(ApiRefusedByPolicy):
        client_class.for_connection(connection).request("GET", path)
    assert len(first.received) == 1
    assert other.received == []

    def answer(request):
        if request.path.startswith("/old"):
            return 301, {"Location": request.path.replace("/old", "/new", 1)}, {}
        return 200, {}, {"success": True, "data": {}}

    same = listener(answer)
    connection = stored(_model(client_class), same.url + "/old")
    body = client_class.for_connection(connection).request("GET", path)
    assert body["success"] is True
    assert [r.path for r in same.received] == [f"/old{path}", f"/new{path}"]


@pytest.mark.parametrize("language, words", [
    ("en", "This address sends the portal on to another address (a redirect)"),
    ("ru", "Этот адрес перенаправляет портал на другой адрес (редирект)"),
])
def test_the_wizard_says_a_redirect_is_why_it_refuses(owner_client, make_agency, make_shop,
                                                     listener, language, words):
    """An address that redirects to another site is refused for that, and
    the admin is told so, not that the address is an internal one."""
    other = listener()
    first = listener(_redirect_to(other.url))
    agency = make_agency("Redirect agency")
    draft = make_shop(agency, name="Draft", active=False)
    client = owner_client(draft)
    response = client.post(reverse("admin:console-wizard-hde", args=[draft.public_id]), {
        "base_url": first.url, "agent_email": "agent@example.com",
        "api_key": "typed-key-1234"}, HTTP_ACCEPT_LANGUAGE=language)
    text = " ".join(response.content.decode().split())
    assert response.status_code == 200 and words in text, text[-3000:]
    assert "internal" not in text and "внутренн" not in text
    assert other.received == []


def test_people_see_fixed_words_for_refusals_and_the_network(
        demo_shop, stored, owner_client, listener):
    stored(RetailCrmConnection, "http://169.254.169.254")
    closed = listener()
    closed_url = closed.url
    closed.shutdown()
    closed.server_close()
    stored(HelpDeskEddyConnection, closed_url)
    client = owner_client(demo_shop)

    texts = [text for _, text in run_connection_test(client, demo_shop)]
    # What to change, as the wizard says it; the stored words stay fixed.
    assert texts == [f"{demo_shop.name} · RetailCRM: {POLICY_ADVICE}",
                     f"{demo_shop.name} · HelpDeskEddy: Nothing answers at this address. "
                     "Check the spelling of the account URL."]
    demo_shop.retailcrm.refresh_from_db()
    demo_shop.helpdeskeddy.refresh_from_db()
    assert demo_shop.retailcrm.last_error == "refused by policy"
    assert demo_shop.helpdeskeddy.last_error == "unreachable"

    client.cookies["django_language"] = "ru"
    page = client.get(shop_url(demo_shop), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "отклонено политикой" in page and "недоступен" in page
    assert "refused by policy" not in page

    # The operator's card says the same words.
    with translation.override("en"):
        context = customer_context_get(shop=demo_shop, email="anna.smirnova@example.ru",
                                       refresh=True)
    assert context.customer is None
    assert "RetailCRM is unavailable right now: refused by policy." in context.notice


def test_a_vendors_own_error_text_is_shown_cut_short(demo_shop, stored, owner_client,
                                                      listener):
    """An origin that passed the policy may answer anything; people get a
    short excerpt of it, the admin page and `last_error` alike."""
    details = "Ключ отозван. " + "x" * 5000

    def answer(request):
        return 401, {}, {"errors": [{"code": "e-401", "title": "Unauthorized",
                                     "details": details}]}

    server = listener(answer)
    stored(HelpDeskEddyConnection, server.url)
    client = owner_client(demo_shop)
    texts = [text for _, text in run_connection_test(client, demo_shop)]
    hde = next(text for text in texts if "HelpDeskEddy" in text)
    # What to change; the vendor's words mix two alphabets, so they are not
    # quoted into an English sentence (the stored error keeps them).
    assert "HelpDeskEddy refused this e-mail and key." in hde and "Ключ" not in hde
    assert "x" * 300 not in hde
    connection = HelpDeskEddyConnection.objects.get(shop=demo_shop)
    assert connection.status == ConnectionStatus.NEEDS_ATTENTION
    assert "Ключ отозван." in connection.last_error and len(connection.last_error) <= 200
    with pytest.raises(ApiUnauthorized):
        HelpDeskEddyClient.for_connection(connection).request("GET", "/api/v2/users/")

    # Words in the reader's own alphabet are quoted after the advice, cut short.
    def russian(request):
        return 401, {}, {"errors": [{"code": "e-401", "title": "Доступ запрещён",
                                     "details": "Ключ отозван " + "я" * 5000}]}

    server = listener(russian)
    stored(HelpDeskEddyConnection, server.url)
    client.cookies["django_language"] = "ru"
    texts = [text for _, text in run_connection_test(client, demo_shop)]
    hde = next(text for text in texts if "HelpDeskEddy" in text)
    assert "HelpDeskEddy ответил: «Доступ запрещён Ключ отозван яяя" in hde, hde
    assert "я" * 300 not in hde and len(hde) < 500

def test_a_kept_alive_socket_is_checked_again_once_it_is_old(stored, listener, resolver,
                                                              connects, monkeypatch):
    """Clients share keep-alive sockets. A socket reused is the one checked
    when it connected; past its age limit (however busy) it is opened anew,
    so the name is resolved and checked again: a rebinding to a private
    address is refused then, and nothing reaches it."""
    from integration.vendors import outbound
    from tests.security.conftest import _Handler

    monkeypatch.setattr(_Handler, "protocol_version", "HTTP/1.1")  # the listener keeps alive
    monkeypatch.setattr(outbound, "REUSE_IDLE_SECONDS", 3600.0)
    server = listener(lambda request: (200, {}, {"success": True, "data": {}}))
    port = server.url.rsplit(":", 1)[1]
    resolver.answers["pool.example"] = ["127.0.0.1", "10.0.0.7"]
    connection = stored(RetailCrmConnection, f"http://pool.example:{port}")
    connects.clear()
    asked = resolver.asked.get("pool.example", 0)

    for _ in range(3):  # a busy socket: reused, not resolved or connected again
        RetailCrmClient.for_connection(connection).request("GET", "/api/credentials")
    assert len(server.received) == 3
    assert connects.count("127.0.0.1") == 1 and resolver.asked["pool.example"] == asked + 1

    monkeypatch.setattr(outbound, "REUSE_MAX_AGE_SECONDS", 0.0)  # the socket is now old
    with pytest.raises(ApiRefusedByPolicy):
        RetailCrmClient.for_connection(connection).request("GET", "/api/credentials")
    assert resolver.asked["pool.example"] == asked + 2
    assert "10.0.0.7" not in connects and len(server.received) == 3
