"""Tenant isolation as a matrix, and the doors that refuse strangers.

Agency A's user, token, secret and link never reach shop B, through the
admin (every registered admin of a shop-owned model, found by walking the
registry, so a new admin is covered without editing this file), the widget
API, the widget page, the webhook receivers and the jobs. Plus: the widget
page carries its framing policy. (The admin login lock-out: test_login_lockout.)
"""

import base64
import itertools

import pytest
from django.contrib import admin
from django.db import models
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from integration.models import (
    CustomerLink,
    EventState,
    InboundEvent,
    SecretKind,
    Shop,
    ShopSettings,
    TicketRecord,
)
from integration.tenancy.secrets import shop_secret_issue
from integration.widget.links import widget_link_build

_counter = itertools.count(1)


def _value(field, shop):
    """A valid value for a required field of a shop-owned model."""
    if isinstance(field, models.ForeignKey):
        target = field.related_model
        if target is Shop:
            return shop
        return make_row(target, shop)
    if field.choices:
        return field.choices[0][0]
    n = next(_counter)
    if isinstance(field, (models.DateTimeField,)):
        return timezone.now()
    if isinstance(field, models.DateField):
        return timezone.now().date()
    if isinstance(field, (models.IntegerField, models.DecimalField, models.FloatField)):
        return n
    if isinstance(field, models.JSONField):
        return {}
    if isinstance(field, models.UUIDField):
        import uuid

        return uuid.uuid4()
    if isinstance(field, models.BooleanField):
        return False
    if isinstance(field, models.EmailField):
        return f"v{n}@example.com"
    return f"v{n}"[: field.max_length or 40]


def make_row(model, shop):
    if model is Shop:
        return shop
    values = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.has_default() or getattr(field, "auto_now", False) \
                or getattr(field, "auto_now_add", False):
            continue
        if field.null and not (isinstance(field, models.ForeignKey)
                               and field.related_model is Shop):
            continue
        values[field.name] = _value(field, shop)
    return model.objects.create(**values)


def _shop_owned_admins():
    for model, model_admin in admin.site._registry.items():
        names = {f.name for f in model._meta.get_fields()}
        if "shop" in names or model is Shop:
            yield model, model_admin


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "admin", "viewer"])
def test_admin_matrix_other_agencys_rows_are_invisible_everywhere(client, two_tenants, role):
    """Every admin of a shop-owned model: B's row is not listed, and its
    change, delete and history pages answer like a missing row."""
    shop_a, shop_b = two_tenants["a"]["shop"], two_tenants["b"]["shop"]
    client.force_login(two_tenants["a"][role])
    checked = []
    for model, model_admin in _shop_owned_admins():
        row_a, row_b = make_row(model, shop_a), make_row(model, shop_b)
        changelist = client.get(_url(model, "changelist"))
        if changelist.status_code == 403:
            continue  # this role may not open the admin at all: nothing can leak
        assert changelist.status_code == 200, model
        request = RequestFactory().get("/")
        request.user = two_tenants["a"][role]
        shown = set(model_admin.get_queryset(request).values_list("pk", flat=True))
        assert row_b.pk not in shown, model
        assert row_a.pk in shown, model
        for view in ("change", "delete", "history"):
            try:
                other = client.get(_url(model, view, row_b.pk))
                missing = client.get(_url(model, view, 987654321))
            except NoReverseMatch:
                continue
            assert other.status_code in (302, 403, 404), (model, view)
            assert other.status_code == missing.status_code, (model, view)
            assert str(row_b) not in other.content.decode() or str(row_b) == str(row_a)
        # A forged POST to B's change/delete page changes nothing.
        before = model.objects.filter(pk=row_b.pk).count()
        try:
            client.post(_url(model, "delete", row_b.pk), {"post": "yes",
                                                           "confirm_name": str(shop_b.name)})
        except NoReverseMatch:
            pass  # a report-only admin has no delete page
        assert model.objects.filter(pk=row_b.pk).count() == before, model
        checked.append(model._meta.model_name)
    if role != "viewer":
        assert {"shop", "apicall", "inboundevent", "priorityrule"} <= set(checked), checked


@pytest.fixture
def secrets_ab(two_tenants):
    issued = {}
    for key in ("a", "b"):
        shop = two_tenants[key]["shop"]
        issued[key] = {kind: shop_secret_issue(shop=shop, kind=kind) for kind in SecretKind}
    return issued


def _basic(secret):
    return "Basic " + base64.b64encode(f"hde:{secret}".encode()).decode()


@pytest.mark.django_db
@pytest.mark.parametrize("route,kind", [("hook-hde", SecretKind.HDE_WEBHOOK),
                                        ("hook-retailcrm", SecretKind.RETAILCRM_TRIGGER)])
def test_webhook_matrix_only_the_shops_own_secret_of_that_kind_opens_it(
        client, two_tenants, secrets_ab, route, kind):
    shop_b = two_tenants["b"]["shop"]
    body = {"event": "new_ticket", "ticket_id": 5, "order_id": 5, "status": "new"}
    url = reverse(route, args=[shop_b.public_id])
    wrong = [secrets_ab["a"][k] for k in SecretKind] + [
        secrets_ab["b"][k] for k in SecretKind if k != kind] + ["", "x" * 43]
    for secret in wrong:
        response = client.post(url, body, content_type="application/json",
                               HTTP_AUTHORIZATION=_basic(secret))
        assert response.status_code == 401, secret
    assert not InboundEvent.objects.exists()
    ok = client.post(url, body, content_type="application/json",
                     HTTP_AUTHORIZATION=_basic(secrets_ab["b"][kind]))
    assert ok.status_code == 202
    assert InboundEvent.objects.get().shop == shop_b


@pytest.mark.django_db
def test_webhook_brute_force_is_throttled_per_address_and_never_locks_out_the_sender(
        client, two_tenants, secrets_ab):
    from integration.tenancy.secrets import FAILURE_LIMIT

    shop = two_tenants["a"]["shop"]
    url = reverse("hook-hde", args=[shop.public_id])
    body = {"event": "new_ticket", "ticket_id": 9}
    for n in range(FAILURE_LIMIT):
        assert client.post(url, body, content_type="application/json",
                           HTTP_AUTHORIZATION=_basic(f"guess-{n}")).status_code == 401
    assert client.post(url, body, content_type="application/json",
                       HTTP_AUTHORIZATION=_basic("one-more-guess")).status_code == 429
    right = _basic(secrets_ab["a"][SecretKind.HDE_WEBHOOK])
    # The holder of the (unguessable) secret is served even from that address.
    assert client.post(url, body, content_type="application/json",
                       HTTP_AUTHORIZATION=right).status_code == 202
    # Another address (the real HDE) is not locked out by the attacker.
    assert client.post(url, body, content_type="application/json", HTTP_AUTHORIZATION=right,
                       REMOTE_ADDR="10.1.2.3").status_code == 202
    # Nor is the same shop's other endpoint, nor shop B.
    other = reverse("hook-hde", args=[two_tenants["b"]["shop"].public_id])
    assert client.post(other, body, content_type="application/json",
                       HTTP_AUTHORIZATION=_basic(secrets_ab["b"][SecretKind.HDE_WEBHOOK])
                       ).status_code == 202


@pytest.mark.django_db
def test_widget_api_matrix_tokens_are_bound_to_their_shop(client, two_tenants, secrets_ab):
    """Only a widget token opens the API; a webhook secret, a revoked token or
    a token sent as a webhook secret does not (the shop comes from the token)."""
    url = reverse("api-context")
    for key in ("a", "b"):
        for kind in (SecretKind.HDE_WEBHOOK, SecretKind.RETAILCRM_TRIGGER):
            response = client.get(url, {"email": "x@example.com"},
                                  HTTP_AUTHORIZATION=f"Bearer {secrets_ab[key][kind]}")
            assert response.status_code == 401, kind
    for path in ("api-notes", "api-tasks", "api-customers"):
        response = client.post(reverse(path), {"customer_id": 1, "text": "x"},
                               content_type="application/json",
                               HTTP_AUTHORIZATION=f"Bearer {secrets_ab['a']['hde_webhook']}")
        assert response.status_code == 401, path


@pytest.mark.django_db
def test_widget_link_matrix(client, two_tenants, settings):
    settings.PORTAL_BASE_URL = "http://testserver"
    shop_a, shop_b = two_tenants["a"]["shop"], two_tenants["b"]["shop"]
    link_a = widget_link_build(shop=shop_a, ticket_id=7)
    link_b = widget_link_build(shop=shop_b, ticket_id=7)
    path_a, path_b = link_a.removeprefix("http://testserver"), link_b.removeprefix(
        "http://testserver")
    token_a, token_b = path_a.rstrip("/").rsplit("/", 1)[1], path_b.rstrip("/").rsplit("/", 1)[1]
    refused = [
        f"/widget/{shop_b.public_id}/{token_a}/",       # A's link at B's door
        f"/widget/{shop_a.public_id}/{token_b}/",       # and the other way round
        f"/widget/{shop_a.public_id}/{token_a[:-3]}xyz/",  # tampered signature
        f"/widget/{shop_a.public_id}/{token_a.replace(':', ':0', 1)}/",  # tampered body
    ]
    for path in refused:
        response = client.get(path)
        assert response.status_code == 403, path
        assert "frame-ancestors" in response["Content-Security-Policy"]
    ShopSettings.objects.filter(shop=shop_a).update(widget_link_days=0)
    assert client.get(path_a).status_code == 403  # expired
    Shop.objects.filter(pk=shop_b.pk).update(active=False)
    assert client.get(path_b).status_code == 404  # a deactivated shop's links go dark


@pytest.mark.django_db
def test_widget_page_policy_frames_only_in_the_shops_helpdesk(client, two_tenants, settings):
    from integration.models import HelpDeskEddyConnection

    shop_a = two_tenants["a"]["shop"]
    HelpDeskEddyConnection.objects.create(shop=shop_a, base_url="https://shop-a.helpdeskeddy.com",
                                          agent_email="x@example.com", api_key="k" * 20)
    settings.PORTAL_BASE_URL = "http://testserver"
    path = widget_link_build(shop=shop_a, ticket_id=7).removeprefix("http://testserver")
    response = client.get(path[:-3] + "xyz/")  # even the refusal is framed only there
    policy = response["Content-Security-Policy"]
    ancestors = next(p for p in policy.split(";") if "frame-ancestors" in p).split()[1:]
    assert "https://shop-a.helpdeskeddy.com" in ancestors
    assert "*" not in ancestors and "https:" not in ancestors and "http:" not in ancestors
    assert "X-Frame-Options" not in response  # CSP decides; XFO would forbid any frame
    admin_page = client.get(reverse("admin:login"))
    assert admin_page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'self'" in admin_page["Content-Security-Policy"]


def test_jobs_for_shop_a_never_read_or_write_shop_b(demo_shop, make_agency, make_shop, settings,
                                                    live_server, rc_people):
    """The real ticket job for shop A, while shop B holds rows with the same
    ticket and HDE user ids pointing at another customer: A's job neither
    uses them nor changes them, and writes only A's rows."""
    from integration.inbox.events import inbound_event_store
    from integration.onboarding.shop_defaults import shop_defaults_apply
    from sandbox.hde.models import Ticket

    settings.PORTAL_BASE_URL = live_server.url
    shop_defaults_apply(shop=demo_shop, normal_priority_id=2, high_priority_id=1)
    ticket = Ticket.objects.get(account__code="demo", hid=3)  # Иван's ticket
    shop_b = make_shop(make_agency("Agency B"), name="Shop B")
    TicketRecord.objects.create(shop=shop_b, ticket_id=3, customer_id=999, subject="B's")
    CustomerLink.objects.create(shop=shop_b, hde_user_id=ticket.user.hid, customer_id=999)
    before_b = {m.__name__: list(m.objects.filter(shop=shop_b).values())
                for m in (TicketRecord, CustomerLink, InboundEvent)}

    event, _ = inbound_event_store(shop=demo_shop, source="hde", source_key="new_ticket:3",
                                   event_type="new_ticket", payload={"ticket_id": 3})
    event.refresh_from_db()

    assert event.state == EventState.DONE, event.last_error
    record = TicketRecord.objects.get(shop=demo_shop, ticket_id=3)
    assert record.customer_id == rc_people["delivery"]
    after_b = {m.__name__: list(m.objects.filter(shop=shop_b).values())
               for m in (TicketRecord, CustomerLink, InboundEvent)}
    assert after_b == before_b
    from integration.models import ApiCall, SideEffect

    assert not ApiCall.objects.filter(shop=shop_b).exists()
    assert not SideEffect.objects.filter(shop=shop_b).exists()
