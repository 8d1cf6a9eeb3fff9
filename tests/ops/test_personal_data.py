"""Personal data: retention, erasing a shop (with the page that says what
goes), exporting one customer's data; all scoped to the user's agency."""

import json
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from integration.core.shop_cache import shop_cache_keys
from integration.customers.context import _lookup_key
from integration.models import (
    ApiCall,
    AuthFailure,
    CustomerLink,
    EventSource,
    InboundEvent,
    PriorityRule,
    SecretKind,
    Shop,
    SideEffect,
    TicketRecord,
    WidgetRequest,
)
from integration.ops.personal_data import personal_data_purge, shop_erase_plan
from integration.ops.retention import logs_purge
from integration.tenancy.secrets import shop_secret_issue
from tests.refusals import not_found


def _customer_rows(shop, *, customer_id=501, ticket_id=77, email="anna@example.ru"):
    """What the ticket job and the widget leave behind for one customer."""
    event = InboundEvent.objects.create(
        shop=shop, source=EventSource.HDE_WEBHOOK, source_key=f"new_ticket:{ticket_id}",
        event_type="new_ticket", payload={"ticket_id": ticket_id, "user_email": email})
    ApiCall.objects.create(shop=shop, provider="retailcrm", method="GET",
                           path=f"/api/v5/customers/{customer_id}", status_code=200)
    ApiCall.objects.create(shop=shop, provider="helpdeskeddy", method="GET",
                           path=f"/api/v2/tickets/{ticket_id}/", status_code=200, event=event)
    ApiCall.objects.create(shop=shop, provider="retailcrm", method="GET",
                           path=f"/api/v5/customers/{customer_id}9", status_code=200)
    TicketRecord.objects.create(shop=shop, ticket_id=ticket_id, subject="Где мой заказ?",
                                hde_user_id=9000 + ticket_id, customer_id=customer_id)
    SideEffect.objects.create(shop=shop, key=f"ticket:{ticket_id}:hde_comment", state="done",
                              result="3")
    SideEffect.objects.create(shop=shop, key=f"ticket:{ticket_id}0:hde_comment", state="done")
    CustomerLink.objects.create(shop=shop, hde_user_id=9000 + ticket_id, customer_id=customer_id)
    WidgetRequest.objects.create(shop=shop, request_id="r1", duration_ms=5, outcome="ok")
    cache.set(f"ctx:{shop.pk}:{customer_id}:1:0", {"customer": {"email": email}}, 300)
    cache.set(f"ctxstale:{shop.pk}:{customer_id}:1", {"customer": {"email": email}}, 300)
    cache.set(_lookup_key(shop.pk, email, "", ""), customer_id, 300)
    cache.set(f"ticketinfo:{shop.pk}:{ticket_id}", {"id": ticket_id, "email": email}, 300)
    return event


@pytest.fixture
def both_with_data(two_tenants):
    cache.clear()
    for key in ("a", "b"):
        shop = two_tenants[key]["shop"]
        _customer_rows(shop)
        shop_secret_issue(shop=shop, kind=SecretKind.WIDGET_TOKEN)
        PriorityRule.objects.create(shop=shop, name="VIP", set_priority_id=1)
    yield two_tenants
    cache.clear()


@pytest.mark.django_db
def test_erase_page_lists_rows_per_table_and_erases_only_that_shop(client, both_with_data):
    shop_a, shop_b = both_with_data["a"]["shop"], both_with_data["b"]["shop"]
    client.force_login(both_with_data["a"]["owner"])
    url = reverse("admin:integration_shop_delete", args=[shop_a.pk])

    page = client.get(url)
    assert page.status_code == 200
    plan = dict(page.context["plan"])
    assert plan["inbound events"] == 1 and plan["API calls"] == 3
    assert plan["vendor writes"] == 2 and plan["customer links"] == 1
    assert plan["tickets"] == 1 and plan["cache entries"] == 4
    html = page.content.decode()
    assert "Inbound events" in html and "Cache entries" in html

    wrong = client.post(url, {"confirm_name": "not the name"})
    assert wrong.status_code == 200 and Shop.objects.filter(pk=shop_a.pk).exists()

    done = client.post(url, {"confirm_name": shop_a.name})
    assert done.status_code == 302
    assert not Shop.objects.filter(pk=shop_a.pk).exists()
    for model in (InboundEvent, ApiCall, SideEffect, CustomerLink, TicketRecord,
                  WidgetRequest, PriorityRule):
        assert not model.objects.filter(shop_id=shop_a.pk).exists(), model
        assert model.objects.filter(shop=shop_b).exists(), model
    assert shop_cache_keys(shop_a.pk) == []
    assert len(shop_cache_keys(shop_b.pk)) == 4
    assert LogEntry.objects.filter(object_id=str(shop_a.pk), action_flag=3).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "admin", "viewer"])
def test_other_agency_cannot_see_erase_or_export_a_shop(client, both_with_data, role):
    shop_b = both_with_data["b"]["shop"]
    client.force_login(both_with_data["a"][role])
    for name in ("admin:integration_shop_delete", "admin:integration_shop_export_customer"):
        url = reverse(name, args=[shop_b.pk])
        assert not_found(client.get(url))
        assert not_found(client.post(url, {"confirm_name": shop_b.name,
                                           "customer_id": 501}))
    assert Shop.objects.filter(pk=shop_b.pk).exists()


@pytest.mark.django_db
def test_viewer_may_neither_erase_nor_export_own_shop(client, both_with_data):
    shop_a = both_with_data["a"]["shop"]
    client.force_login(both_with_data["a"]["viewer"])
    assert client.post(reverse("admin:integration_shop_delete", args=[shop_a.pk]),
                       {"confirm_name": shop_a.name}).status_code == 403
    assert client.post(reverse("admin:integration_shop_export_customer", args=[shop_a.pk]),
                       {"customer_id": 501}).status_code == 403
    assert Shop.objects.filter(pk=shop_a.pk).exists()


@pytest.mark.django_db
def test_bulk_delete_action_is_not_offered(client, both_with_data):
    client.force_login(both_with_data["a"]["owner"])
    page = client.get(reverse("admin:integration_shop_changelist"))
    assert "delete_selected" not in page.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("query", [{"email": "anna@example.ru"}, {"customer_id": 501}])
def test_export_of_one_customer_from_the_admin(client, both_with_data, query):
    shop_a, shop_b = both_with_data["a"]["shop"], both_with_data["b"]["shop"]
    other = _customer_rows(shop_a, customer_id=777, ticket_id=88, email="boris@example.ru")
    client.force_login(both_with_data["a"]["admin"])
    url = reverse("admin:integration_shop_export_customer", args=[shop_a.pk])
    assert client.get(url).status_code == 200
    change = client.get(reverse("admin:integration_shop_change", args=[shop_a.pk]))
    assert url in change.content.decode()

    response = client.post(url, query)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.content)
    assert data["customer_ids"] == [501]
    assert [t["ticket_id"] for t in data["tickets"]] == [77]
    assert [e["source_key"] for e in data["inbound_events"]] == ["new_ticket:77"]
    assert sorted(c["path"] for c in data["api_calls"]) == [
        "/api/v2/tickets/77/", "/api/v5/customers/501"]  # not .../5019, not ticket 88
    assert [s["key"] for s in data["side_effects"]] == ["ticket:77:hde_comment"]
    assert [link["hde_user_id"] for link in data["customer_links"]] == [9077]
    assert any(k.startswith(f"ctx:{shop_a.pk}:501:") for k in data["cached_contexts"])
    text = response.content.decode()
    assert "boris@example.ru" not in text and str(other.pk) not in {
        str(e["id"]) for e in data["inbound_events"]}
    assert f"ctx:{shop_b.pk}:" not in text  # the other tenant's cache is never read
    assert LogEntry.objects.filter(object_id=str(shop_a.pk), action_flag=2).exists()


@pytest.mark.django_db
def test_export_needs_something_to_look_for(client, both_with_data):
    shop_a = both_with_data["a"]["shop"]
    client.force_login(both_with_data["a"]["owner"])
    page = client.post(reverse("admin:integration_shop_export_customer", args=[shop_a.pk]), {})
    assert page.status_code == 200
    assert "Give an e-mail, a phone or a customer id." in page.content.decode()


@pytest.mark.django_db
def test_retention_purges_only_what_is_past_its_time(two_tenants, settings):
    shop = two_tenants["a"]["shop"]
    settings.INTEGRATION = {**settings.INTEGRATION, "LOG_RETENTION_DAYS": 30,
                            "TICKET_RETENTION_DAYS": 365, "CUSTOMER_LINK_RETENTION_DAYS": 180,
                            "AUTH_FAILURE_RETENTION_HOURS": 24}
    now = timezone.now()
    old, young = now - timedelta(days=400), now - timedelta(days=10)
    for ticket_id, closed in ((1, old), (2, young), (3, None)):
        TicketRecord.objects.create(shop=shop, ticket_id=ticket_id, closed_at=closed)
        SideEffect.objects.create(shop=shop, key=f"ticket:{ticket_id}:hde_comment")
    SideEffect.objects.create(shop=shop, key="ticket:10:hde_comment")  # ticket 1 ≠ 10
    TicketRecord.objects.filter(ticket_id=3).update(updated_at=old)  # never seen closed
    CustomerLink.objects.create(shop=shop, hde_user_id=1, customer_id=1)
    CustomerLink.objects.create(shop=shop, hde_user_id=2, customer_id=2)
    CustomerLink.objects.filter(hde_user_id=1).update(updated_at=now - timedelta(days=200))
    for age in (timedelta(days=40), timedelta(days=1)):
        row = WidgetRequest.objects.create(shop=shop, request_id="r", duration_ms=1,
                                           outcome="ok")
        WidgetRequest.objects.filter(pk=row.pk).update(created_at=now - age)
    for age in (timedelta(hours=30), timedelta(hours=1)):
        row = AuthFailure.objects.create(key="admin-login:x")
        AuthFailure.objects.filter(pk=row.pk).update(created_at=now - age)

    done = personal_data_purge(now=now)
    logs_purge(now=now)  # the hourly purge takes the timings and refused-auth records

    assert done == {"side_effects": 2, "tickets": 2, "customer_links": 1}
    assert list(TicketRecord.objects.values_list("ticket_id", flat=True)) == [2]
    assert sorted(SideEffect.objects.values_list("key", flat=True)) == [
        "ticket:10:hde_comment", "ticket:2:hde_comment"]
    assert list(CustomerLink.objects.values_list("hde_user_id", flat=True)) == [2]
    assert WidgetRequest.objects.count() == 1 and AuthFailure.objects.count() == 1


def test_retention_is_scheduled():
    from integration.schedules import SCHEDULES

    assert "integration.tasks.personal_data_purge_task" in {s["func"] for s in SCHEDULES}


@pytest.mark.django_db
def test_erase_plan_counts_nested_rows(two_tenants):
    from integration.models import RuleCondition

    shop = two_tenants["a"]["shop"]
    rule = PriorityRule.objects.create(shop=shop, name="R", set_priority_id=1)
    RuleCondition.objects.create(rule=rule, field="vip", operator="eq", value="1")
    plan = dict(shop_erase_plan(shop=shop))
    assert plan[str(RuleCondition._meta.verbose_name_plural)] == 1
