"""Viewers and personal data (issue 13, item 10), screen by screen through
the admin: a viewer reads configuration, health and the logs as records of
what happened, never a customer's personal data; owners and admins read it
on every one of these screens (integration.tenancy.access)."""

import csv
import io

import pytest
from django.urls import reverse

from integration.models import (
    ApiCall,
    EventSource,
    EventState,
    InboundEvent,
    ReplyTemplate,
    Role,
    SentReply,
    TicketRecord,
)
from integration.onboarding.shop_defaults import shop_defaults_apply
from integration.replies.defaults import reply_templates_default_create

EMAIL, PHONE = "ivan.petrov@example.ru", "+7 (903) 555-12-34"


@pytest.fixture
def members(demo_shop, make_member):
    return {role: make_member(demo_shop.agency, role, username=f"{role}-pd")
            for role in (Role.OWNER, Role.ADMIN, Role.VIEWER)}


def _body(response):
    return response.content.decode()


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.VIEWER])
def test_screens_that_look_a_customer_up(client, demo_shop, members, role):
    """Export, reply preview, try with e-mail and dry run read a real
    customer: owners and admins get the customer, a viewer a 403 and no link."""
    shop_defaults_apply(shop=demo_shop, normal_priority_id=2, high_priority_id=1)
    reply_templates_default_create(shop=demo_shop)
    TicketRecord.objects.create(shop=demo_shop, ticket_id=3, subject="Когда привезут заказ?",
                                customer_id=None)
    template = ReplyTemplate.objects.for_shop(demo_shop).first()
    client.force_login(members[role])
    allowed = role != Role.VIEWER
    screens = {
        "export": client.post(reverse("admin:integration_shop_export_customer",
                                      args=[demo_shop.pk]), {"email": EMAIL}),
        "preview": client.get(reverse("admin:integration_replytemplate_preview",
                                      args=[template.pk]), {"who": EMAIL}),
        "try_email": client.get(reverse("admin:integration_priorityrule_try_email"),
                                {"shop": demo_shop.pk, "email": EMAIL}),
        "dry_run": client.get(reverse("admin:integration_priorityrule_dry_run"),
                              {"shop": demo_shop.pk, "limit": 5}),
    }
    for name, response in screens.items():
        assert response.status_code == (200 if allowed else 403), name
        if not allowed:
            assert "Петров" not in _body(response) and EMAIL not in _body(response), name
    if allowed:
        assert EMAIL in _body(screens["export"])
        assert "Петров Иван" in _body(screens["preview"])
        assert "Петров Иван" in _body(screens["try_email"])
        assert "Когда привезут заказ?" in _body(screens["dry_run"])
    rules = _body(client.get(reverse("admin:integration_priorityrule_changelist")))
    assert ("Try with e-mail" in rules) == allowed and ("Dry run" in rules) == allowed
    templates = _body(client.get(reverse("admin:integration_replytemplate_changelist")))
    preview_url = reverse("admin:integration_replytemplate_preview", args=[template.pk])
    assert (preview_url in templates) == allowed


@pytest.fixture
def logged(two_tenants):
    shop = two_tenants["a"]["shop"]
    event = InboundEvent.objects.create(
        shop=shop, source=EventSource.HDE_WEBHOOK, source_key="new_reply:3:7",
        event_type="new_reply", state=EventState.DEAD,
        payload={"ticket_id": 3, "event": "new_reply", "message": f"пишет {EMAIL}"},
        last_error=f"RetailCRM: customer {EMAIL} not found")
    call = ApiCall.objects.create(
        shop=shop, provider="retailcrm", method="GET", event=event, status_code=400,
        path=f"/api/v5/customers?filter[email]={EMAIL.replace('@', '%40')}"
             f"&filter[name]=9035551234&limit=20",
        error=f"Customer {EMAIL}, phone {PHONE}: 400 Bad Request")
    record = TicketRecord.objects.create(shop=shop, ticket_id=3, subject="Где мой заказ, Иван?",
                                         customer_id=5604)
    sent = SentReply.objects.create(shop=shop, ticket=record, template_name="Delivery date",
                                    kind="post", key="widget:x:reply",
                                    text="Hello Петров Иван, your parcel goes to ул. Ленина, 1")
    return {"shop": shop, "event": event, "call": call, "sent": sent}


SECRETS_OF_A_PERSON = (EMAIL, "ivan.petrov%40example.ru", "9035551234", PHONE,
                       "Где мой заказ, Иван?", "ул. Ленина")


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "admin", "viewer"])
def test_logs_and_sent_replies_show_a_viewer_no_personal_data(client, two_tenants, logged,
                                                              role):
    client.force_login(two_tenants["a"][role])
    event, call, sent = logged["event"], logged["call"], logged["sent"]
    pages = {
        "event detail": client.get(reverse("admin:integration_inboundevent_change",
                                           args=[event.pk])),
        "call detail": client.get(reverse("admin:integration_apicall_change", args=[call.pk])),
        "calls": client.get(reverse("admin:integration_apicall_changelist")),
        "events": client.get(reverse("admin:integration_inboundevent_changelist")),
        "calls csv": client.get(reverse("admin:integration_apicall_export")),
        "events csv": client.get(reverse("admin:integration_inboundevent_export")),
        "sent reply": client.get(reverse("admin:integration_sentreply_change", args=[sent.pk])),
    }
    text = {name: b"".join(r.streaming_content).decode() if r.streaming else _body(r)
            for name, r in pages.items()}
    for name, response in pages.items():
        assert response.status_code == 200, name
    if role == "viewer":
        for name, page in text.items():
            for secret in SECRETS_OF_A_PERSON:
                assert secret not in page, (name, secret)
        assert "[e-mail]" in text["event detail"] and "[phone]" in text["call detail"]
        assert "/api/v5/customers?filter[email]=[e-mail]" in text["calls"].replace("<wbr>", "")
        rows = list(csv.DictReader(io.StringIO(text["calls csv"].lstrip("\ufeff"))))
        assert rows[0]["path"].startswith("/api/v5/customers?filter[email]=[e-mail]")
        # What happened is still there: the ids, the outcome, the side effects' ticket.
        assert "HDE ticket 3" in text["event detail"] and "5604" in text["event detail"]
        assert "Delivery date" in text["sent reply"]
        # Searching by an e-mail finds nothing, even though a row holds it.
        found = client.get(reverse("admin:integration_apicall_changelist"), {"q": "ivan"})
        assert found.context["cl"].result_count in (0, 1) and \
            not found.context["cl"].search_fields
    else:
        assert EMAIL in text["call detail"] and "Где мой заказ, Иван?" in text["event detail"]
        assert "ул. Ленина" in text["sent reply"]
        found = client.get(reverse("admin:integration_apicall_changelist"), {"q": "ivan"})
        assert found.context["cl"].result_count == 1
