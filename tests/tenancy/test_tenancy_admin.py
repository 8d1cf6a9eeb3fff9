"""Agency A can never see or change agency B's rows through the admin."""

import pytest
from django.contrib import admin
from django.urls import reverse

from integration.console.mixins import TenantScopedAdminMixin
from integration.models import ApiCall, EventSource, InboundEvent, Membership, Shop


def _rows_for(tenant):
    shop = tenant["shop"]
    return {
        "shop": shop,
        "apicall": ApiCall.objects.create(shop=shop, provider="retailcrm", method="GET",
                                          path="/api/v5/customers", status_code=200),
        "inboundevent": InboundEvent.objects.create(shop=shop, source=EventSource.HDE_WEBHOOK,
                                                    source_key=f"t-{shop.pk}"),
        "membership": Membership.objects.filter(agency=tenant["agency"]).first(),
        "agency": tenant["agency"],
    }


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "admin", "viewer"])
@pytest.mark.parametrize("model", ["shop", "apicall", "inboundevent", "membership", "agency"])
def test_changelist_and_change_view_hide_other_tenant(client, two_tenants, role, model):
    rows_a, rows_b = _rows_for(two_tenants["a"]), _rows_for(two_tenants["b"])
    client.force_login(two_tenants["a"][role])

    changelist = client.get(reverse(f"admin:integration_{model}_changelist"))
    assert changelist.status_code == 200
    shown = set(changelist.context["cl"].queryset.values_list("pk", flat=True))
    assert rows_a[model].pk in shown
    assert rows_b[model].pk not in shown

    other = client.get(reverse(f"admin:integration_{model}_change", args=[rows_b[model].pk]))
    missing = client.get(reverse(f"admin:integration_{model}_change", args=[987654]))
    # Another tenant's object is answered exactly like a missing one.
    assert other.status_code == missing.status_code == 302
    assert other.url == missing.url


@pytest.mark.django_db
def test_viewer_cannot_change_own_shop(client, two_tenants):
    shop = two_tenants["a"]["shop"]
    client.force_login(two_tenants["a"]["viewer"])
    url = reverse("admin:integration_shop_change", args=[shop.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    response = client.post(url, {"name": "Renamed", "agency": shop.agency_id})
    assert response.status_code == 403
    shop.refresh_from_db()
    assert shop.name == "Shop A"


@pytest.mark.django_db
def test_admin_can_edit_own_shop_but_not_assign_it_to_other_agency(client, two_tenants):
    shop = two_tenants["a"]["shop"]
    client.force_login(two_tenants["a"]["admin"])
    url = reverse("admin:integration_shop_change", args=[shop.pk])
    form = _shop_form(shop, name="Renamed A")
    assert client.post(url, form).status_code == 302
    shop.refresh_from_db()
    assert shop.name == "Renamed A"

    hijack = _shop_form(shop, agency=two_tenants["b"]["agency"].pk)
    response = client.post(url, hijack)
    assert response.status_code == 200  # form error: B's agency is not a valid choice
    assert "agency" in response.context["adminform"].form.errors
    shop.refresh_from_db()
    assert shop.agency == two_tenants["a"]["agency"]


@pytest.mark.django_db
def test_admin_role_cannot_manage_memberships(client, two_tenants):
    membership = Membership.objects.get(user=two_tenants["a"]["viewer"])
    client.force_login(two_tenants["a"]["admin"])
    url = reverse("admin:integration_membership_change", args=[membership.pk])
    response = client.post(url, {"user": membership.user_id, "agency": membership.agency_id,
                                 "role": "owner"})
    assert response.status_code == 403
    membership.refresh_from_db()
    assert membership.role == "viewer"


@pytest.mark.django_db
def test_owner_of_a_only_views_b_when_viewer_there(client, two_tenants, make_member):
    """A user with different roles in two agencies gets each role's rights."""
    owner_a = two_tenants["a"]["owner"]
    Membership.objects.create(user=owner_a, agency=two_tenants["b"]["agency"], role="viewer")
    client.force_login(owner_a)
    shop_b = two_tenants["b"]["shop"]
    url = reverse("admin:integration_shop_change", args=[shop_b.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, _shop_form(shop_b, name="Hijacked")).status_code == 403
    shop_b.refresh_from_db()
    assert shop_b.name == "Shop B"


def _shop_form(shop, **overrides):
    data = {
        "agency": shop.agency_id, "name": shop.name, "active": "on", "language": shop.language,
        "currency": shop.currency, "timezone": shop.timezone,
    }
    for prefix in ("retailcrm", "helpdeskeddy", "settings", "field_mappings", "widget_fields",
                   "secrets"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0",
                     f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1"})
    data.update(overrides)
    return data


def test_every_shop_owned_admin_uses_the_scoping_mixin():
    unscoped = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        if any(field.name == "shop" for field in model._meta.fields)
        and not isinstance(model_admin, TenantScopedAdminMixin)
    ]
    assert unscoped == []
    assert isinstance(admin.site._registry[Shop], TenantScopedAdminMixin)
