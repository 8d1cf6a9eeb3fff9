"""`manage.py widget_token`: issue (and revoke) tokens from the shell."""

import io

import pytest
from django.core.management import CommandError, call_command

from integration.models import SecretKind
from integration.tenancy.secrets import secret_lookup


@pytest.mark.django_db
def test_issue_and_revoke(two_tenants):
    shop = two_tenants["a"]["shop"]
    out = io.StringIO()
    call_command("widget_token", str(shop.public_id), stdout=out)
    first = out.getvalue().strip()
    assert secret_lookup(kind=SecretKind.WIDGET_TOKEN, presented=first).shop == shop
    out = io.StringIO()
    call_command("widget_token", str(shop.public_id), "--revoke-all", stdout=out,
                 stderr=io.StringIO())
    assert secret_lookup(kind=SecretKind.WIDGET_TOKEN, presented=first) is None
    assert secret_lookup(kind=SecretKind.WIDGET_TOKEN,
                         presented=out.getvalue().strip()).shop == shop


@pytest.mark.django_db
def test_unknown_shop_is_a_clear_error():
    with pytest.raises(CommandError, match="No shop"):
        call_command("widget_token", "not-a-uuid")
