"""Reply templates in the admin: unknown variables refused on save, the
preview against a real customer of the shop's RetailCRM emulator, sent
replies read-only, and agency A never reaching agency B's templates."""

import pytest
from django.urls import reverse

from integration.models import ReplyTemplate, Role, SentReply, TicketRecord
from integration.replies.defaults import reply_templates_default_create
from tests.refusals import not_found


def _form(shop, **fields):
    return {"shop": shop.pk, "name": "Где заказ", "language": "ru", "active": "on",
            "position": 0, "body": "Заказ {{ order.number }}", "order_status_groups": "",
            **fields}


@pytest.mark.django_db
def test_unknown_variable_is_reported_on_save_and_nothing_is_stored(client, two_tenants):
    shop = two_tenants["a"]["shop"]
    client.force_login(two_tenants["a"]["admin"])
    url = reverse("admin:integration_replytemplate_add")
    page = client.get(url).content.decode()
    assert "{{ order.track_number }}" in page  # the variable list beside the text
    response = client.post(url, _form(shop, body="Заказ {{ order.nomer }} {{ shop.name }"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Unknown variables: {{ order.nomer }}." in html and "Unclosed braces" in html
    bad_group = client.post(url, _form(shop, order_status_groups=["delivery", "shipping"]))
    assert "Select a valid choice. shipping is not one of the available choices." in (
        bad_group.content.decode())
    assert not ReplyTemplate.objects.exists()
    saved = client.post(url, _form(shop, order_status_groups=["delivery", "cancel"]))
    assert saved.status_code == 302
    template = ReplyTemplate.objects.get()
    assert template.shop == shop and template.status_groups == ["delivery", "cancel"]


@pytest.mark.django_db
def test_agency_a_never_reaches_agency_b_templates(client, two_tenants):
    shop_a, shop_b = two_tenants["a"]["shop"], two_tenants["b"]["shop"]
    reply_templates_default_create(shop=shop_a)
    reply_templates_default_create(shop=shop_b)
    theirs = ReplyTemplate.objects.for_shop(shop_b).first()
    record_b = TicketRecord.objects.create(shop=shop_b, ticket_id=9)
    sent_b = SentReply.objects.create(shop=shop_b, ticket=record_b, template_name="x",
                                      kind="post", text="x", key="k")
    for role in ("owner", "admin", "viewer"):
        client.force_login(two_tenants["a"][role])
        listing = client.get(reverse("admin:integration_replytemplate_changelist"))
        shown = set(listing.context["cl"].queryset.values_list("shop", flat=True))
        assert shown == {shop_a.pk}
        change = client.get(reverse("admin:integration_replytemplate_change", args=[theirs.pk]))
        missing = client.get(reverse("admin:integration_replytemplate_change", args=[987654]))
        assert change.status_code == missing.status_code == 302 and change.url == missing.url
        preview = client.get(reverse("admin:integration_replytemplate_preview",
                                     args=[theirs.pk]), {"who": "x@example.com"})
        assert not_found(preview)
        sent = client.get(reverse("admin:integration_sentreply_changelist"))
        assert sent_b.pk not in set(sent.context["cl"].queryset.values_list("pk", flat=True))
    # Agency A's admin cannot move a template into agency B's shop.
    client.force_login(two_tenants["a"]["admin"])
    ours = ReplyTemplate.objects.for_shop(shop_a).first()
    response = client.post(reverse("admin:integration_replytemplate_change", args=[ours.pk]),
                           _form(shop_b))
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    ours.refresh_from_db()
    assert ours.shop == shop_a


@pytest.mark.django_db
def test_viewer_sees_templates_but_cannot_change_them(client, two_tenants):
    shop = two_tenants["a"]["shop"]
    reply_templates_default_create(shop=shop)
    template = ReplyTemplate.objects.for_shop(shop).first()
    client.force_login(two_tenants["a"]["viewer"])
    url = reverse("admin:integration_replytemplate_change", args=[template.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, _form(shop, name="Changed")).status_code == 403
    template.refresh_from_db()
    assert template.name != "Changed"


@pytest.fixture
def owner_client(client, demo_shop, make_member):
    reply_templates_default_create(shop=demo_shop)
    client.force_login(make_member(demo_shop.agency, Role.OWNER, username="replies-owner"))
    return client


def _preview(client, template, **params):
    url = reverse("admin:integration_replytemplate_preview", args=[template.pk])
    return client.get(url, params).content.decode()


def test_preview_renders_for_a_chosen_demo_customer(owner_client, demo_shop):
    delivery = ReplyTemplate.objects.get(shop=demo_shop, name="Дата доставки")
    html = _preview(owner_client, delivery, who="ivan.petrov@example.ru")
    assert 'data-preview-state="found"' in html and "Петров Иван" in html
    assert "Здравствуйте, Иван!" in html and "Ожидаемая дата доставки —" in html
    assert "data-fits" in html and "data-reason" not in html
    # By phone, a customer whose newest order is not in delivery: not suggested.
    cancelled = _preview(owner_client, delivery, who="+79101010101")
    assert "Лебедев Павел" in cancelled and "data-unmet" in cancelled
    assert "no order" in cancelled  # nor sendable: no active order
    # Nobody by that e-mail.
    nobody = _preview(owner_client, delivery, who="nobody@example.org")
    assert 'data-preview-state="unknown"' in nobody


def test_preview_by_order_number_uses_that_order(owner_client, demo_shop, rc_people):
    from integration.customers.context import customer_context_get

    status = ReplyTemplate.objects.get(shop=demo_shop, name="Статус заказа")
    anna = customer_context_get(shop=demo_shop, customer_id=rc_people["vip"])
    completed = next(o for o in anna.orders if o.bucket == "completed")
    html = _preview(owner_client, status, who=completed.number)
    assert "Смирнова Анна" in html and f"№ {completed.number}" in html
    assert f"Ваш заказ № {completed.number}" in html
