"""Extension tokens in the admin: owners and admins issue (shown once),
list and revoke their agency's tokens, each step audited; viewers and other
agencies see nothing.

Why: a token opens customer data from a browser; who issued it, to whom
(its label) and when it was revoked must be on record, and the plaintext
must exist exactly once, on the page that issued it.
"""

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.urls import reverse

from integration.console.history import history_words
from integration.extension.services import extension_token_authenticate, extension_token_issue
from integration.models import ExtensionToken

ADD = reverse("admin:integration_extensiontoken_add")
LIST = reverse("admin:integration_extensiontoken_changelist")


def _issue(client, agency, label):
    return client.post(ADD, {"agency": agency.pk, "label": label})


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_issue_a_token_shown_once_and_audited(client, two_tenants, role):
    a = two_tenants["a"]
    client.force_login(a[role])

    page = _issue(client, a["agency"], "Anna, support")

    assert page.status_code == 200 and "no-store" in page["Cache-Control"]
    html = page.content.decode()
    token = ExtensionToken.objects.get()
    plaintext = html.split('data-test="extension-token" type="text" readonly size="60" value="')[1]
    plaintext = plaintext.split('"')[0]
    assert extension_token_authenticate(plaintext) == token
    assert (token.agency, token.label, token.created_by) == (a["agency"], "Anna, support", a[role])
    entry = LogEntry.objects.get(object_id=str(token.pk))
    assert (entry.user, entry.action_flag) == (a[role], ADDITION)
    assert entry.object_repr == f"Anna, support (…{plaintext[-4:]})"
    assert entry.get_change_message() == "Issued an extension token."
    # Never again: not in the list, not on the token's own page.
    listing = client.get(LIST).content.decode()
    detail = client.get(reverse("admin:integration_extensiontoken_change", args=[token.pk]))
    assert "Anna, support" in listing and plaintext not in listing
    assert plaintext not in detail.content.decode()


@pytest.mark.django_db
def test_revoking_is_audited_and_the_token_stops_working(client, two_tenants):
    a = two_tenants["a"]
    token, plaintext = extension_token_issue(agency=a["agency"], label="Boris")
    client.force_login(a["admin"])

    client.post(LIST, {"action": "revoke", "_selected_action": [token.pk]})
    client.post(LIST, {"action": "revoke", "_selected_action": [token.pk]})  # again: no-op

    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == a["admin"]
    assert extension_token_authenticate(plaintext) is None
    entries = LogEntry.objects.filter(object_id=str(token.pk), action_flag=CHANGE)
    assert [(e.user, e.object_repr, history_words(e)) for e in entries] == [
        (a["admin"], str(token), "Revoked the extension token.")]
    assert "revoked" in client.get(LIST + "?state=revoked").content.decode()
    # Revoked, never deleted: the audit trail keeps naming it.
    delete = reverse("admin:integration_extensiontoken_delete", args=[token.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert ExtensionToken.objects.filter(pk=token.pk).exists()


@pytest.mark.django_db
def test_viewers_and_other_agencies_see_nothing(client, two_tenants):
    a, b = two_tenants["a"], two_tenants["b"]
    token_b, _plain = extension_token_issue(agency=b["agency"], label="Agency B operator")

    client.force_login(a["viewer"])
    assert client.get(LIST).status_code == 403
    assert client.get(ADD).status_code == 403
    assert "extension" not in client.get(reverse("admin:index")).content.decode().lower()

    client.force_login(a["owner"])
    assert "Agency B operator" not in client.get(LIST).content.decode()
    change_b = reverse("admin:integration_extensiontoken_change", args=[token_b.pk])
    assert client.get(change_b).status_code in (302, 404)
    client.post(LIST, {"action": "revoke", "_selected_action": [token_b.pk]})
    token_b.refresh_from_db()
    assert token_b.revoked_at is None
    # The form offers only the user's own agencies, and refuses another's.
    form = client.get(ADD).content.decode()
    assert a["agency"].name in form and b["agency"].name not in form
    refused = _issue(client, b["agency"], "Sneaky")
    assert refused.status_code == 200 and not ExtensionToken.objects.filter(
        label="Sneaky").exists()
