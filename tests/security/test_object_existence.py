"""Object URLs of rows a user may not see answer exactly like missing rows.

The finding: `/admin/integration/ratelimitstate/<id>/history/` (a
superuser-only model) answered 403 for an existing row and a redirect for a
missing one, telling an agency owner which ids exist. Checked here for every
model registered in the admin and every object URL (change, history,
delete), for every row the user cannot see: another tenant's, or a model the
user may not read at all.
"""

import re

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.urls import NoReverseMatch, reverse

from integration.console.site import UniformObjectAccessMixin
from integration.models import ApiCall, RateLimitState, ShopSecret

VIEWS = ("change", "history", "delete")


def _answer(client, url, object_id):
    response = client.get(url)
    text = [str(m) for m in get_messages(response.wsgi_request)]
    if response.status_code == 302:
        client.get(response["Location"])  # shows, and so uses up, the message
    # The message names the id asked for: compare it with the id taken out.
    text = [re.sub(rf"\b{re.escape(str(object_id))}\b", "<id>", t) for t in text]
    return response.status_code, response.get("Location"), text


def _invisible_rows(model_admin, request):
    visible = model_admin.get_queryset(request)
    allowed = model_admin.has_view_or_change_permission(request)
    rows = model_admin.model._default_manager.all()
    if allowed:
        rows = rows.exclude(pk__in=visible.values("pk"))
    return list(rows.values_list("pk", flat=True)[:1])


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "viewer"])
def test_rows_a_user_may_not_see_answer_like_missing_rows(client, two_tenants, rf, role):
    shop_b = two_tenants["b"]["shop"]
    RateLimitState.objects.create(key="retailcrm:https://b.example:443/x")
    ApiCall.objects.create(shop=shop_b, provider="retailcrm", method="GET", path="/api/v5/x",
                           status_code=200, outcome="ok", duration_ms=1)
    ShopSecret.objects.create(shop=shop_b, kind="widget_token", token_hash="0" * 64, hint="0000")
    user = two_tenants["a"][role]
    client.force_login(user)
    request = rf.get("/admin/")
    request.user = user

    checked = 0
    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, UniformObjectAccessMixin), model
        hidden = _invisible_rows(model_admin, request)
        if not hidden:
            continue
        missing = 987654321 if model._meta.pk.get_internal_type() != "UUIDField" else (
            "00000000-0000-0000-0000-000000000000")
        opts = model._meta
        for view in VIEWS:
            try:
                existing_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}",
                                       args=[hidden[0]])
                missing_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}",
                                      args=[missing])
            except NoReverseMatch:
                continue
            assert _answer(client, existing_url, hidden[0]) == _answer(
                client, missing_url, missing), (model, view)
            checked += 1
    # The superuser-only model, another tenant's shop, log and secret at least.
    assert checked >= 4 * len(VIEWS)
