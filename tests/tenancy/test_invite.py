"""Inviting a colleague: the owner's form, the e-mail, the set-password link
and the first login, all through the real admin and Django's reset views."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from integration.models import Membership, Role
from integration.tenancy.invitations import membership_invite

INVITE_URL = "/admin/integration/membership/invite/"
NEW_PASSWORD = "Tangerine-Harbour-42"
LINK_RE = re.compile(r"https?://testserver(/accounts/reset/[^/\s]+/[^/\s]+/)")


def _invite(client, agency, email="new.colleague@example.com", role=Role.ADMIN):
    return client.post(INVITE_URL, {"agency": agency.pk, "email": email, "role": role})


@pytest.mark.django_db
def test_owner_invites_colleague_who_sets_password_and_sees_only_that_agency(
    client, two_tenants
):
    """The whole path a real colleague takes: e-mail, link, new password,
    admin login, and tenant scoping applied to the new account."""
    tenant = two_tenants["a"]
    client.force_login(tenant["owner"])

    changelist = client.get(reverse("admin:integration_membership_changelist"))
    assert INVITE_URL.encode() in changelist.content  # the button is there for owners
    assert client.get(INVITE_URL).status_code == 200

    response = _invite(client, tenant["agency"])
    assert response.status_code == 302
    assert response.url == reverse("admin:integration_membership_changelist")
    follow = client.get(response.url)
    assert "Invitation sent to new.colleague@example.com" in follow.content.decode()

    user = get_user_model().objects.get(username="new.colleague@example.com")
    assert user.email == "new.colleague@example.com"
    assert not user.has_usable_password()
    assert user.is_staff  # via the membership signal
    assert Membership.objects.get(user=user).agency == tenant["agency"]

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.colleague@example.com"]
    assert "Agency A" in message.subject
    link = LINK_RE.search(message.body)
    assert link, message.body

    # Following the link: Django moves the token into the session and shows
    # the set-password form at a token-free URL.
    client.logout()
    landing = client.get(link.group(1))
    assert landing.status_code == 302
    assert "set-password" in landing.url
    form_page = client.get(landing.url)
    assert form_page.status_code == 200
    assert form_page.context["validlink"] is True
    done = client.post(
        landing.url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert done.status_code == 302
    assert done.url == reverse("password_reset_complete")
    complete = client.get(done.url)
    assert reverse("admin:login").encode() in complete.content

    # The link is single-use: once the password changed, the token is dead.
    assert client.get(link.group(1)).context["validlink"] is False

    login = client.post(
        reverse("admin:login"),
        {"username": "new.colleague@example.com", "password": NEW_PASSWORD,
         "next": reverse("admin:index")},
    )
    assert login.status_code == 302 and login.url == reverse("admin:index")
    shops = client.get(reverse("admin:integration_shop_changelist"))
    assert shops.status_code == 200
    shown = set(shops.context["cl"].queryset.values_list("name", flat=True))
    assert shown == {"Shop A"}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_non_owner_gets_403_on_invite_view(client, two_tenants, role):
    """Only owners manage people; admins and viewers neither see the button
    nor reach the form, by GET or POST."""
    tenant = two_tenants["a"]
    client.force_login(tenant[role])
    changelist = client.get(reverse("admin:integration_membership_changelist"))
    assert changelist.status_code == 200
    assert INVITE_URL.encode() not in changelist.content
    assert client.get(INVITE_URL).status_code == 403
    assert _invite(client, tenant["agency"]).status_code == 403
    assert mail.outbox == []
    assert not get_user_model().objects.filter(username="new.colleague@example.com").exists()


@pytest.mark.django_db
def test_inviting_into_another_agency_is_refused(client, two_tenants):
    """Posting agency B's id from A's owner is a form error (B is not a
    choice), and the service itself refuses too."""
    owner_a, agency_b = two_tenants["a"]["owner"], two_tenants["b"]["agency"]
    client.force_login(owner_a)
    response = _invite(client, agency_b)
    assert response.status_code == 200
    assert "agency" in response.context["form"].errors
    assert mail.outbox == []
    assert not Membership.objects.filter(user__email="new.colleague@example.com").exists()

    with pytest.raises(PermissionDenied):
        membership_invite(inviter=owner_a, agency=agency_b, email="x@example.com",
                          role=Role.VIEWER, request_base_url="http://testserver")
    assert not get_user_model().objects.filter(email="x@example.com").exists()


@pytest.mark.django_db
def test_existing_account_is_reused_and_gets_no_reset_link(client, two_tenants):
    """Inviting someone who already has a password (here B's viewer) adds the
    membership to the same account and does not mail a set-password link."""
    viewer_b = two_tenants["b"]["viewer"]
    membership = membership_invite(
        inviter=two_tenants["a"]["owner"], agency=two_tenants["a"]["agency"],
        email=viewer_b.email.upper(), role=Role.VIEWER, request_base_url="http://testserver",
    )
    assert membership.user == viewer_b
    assert viewer_b.memberships.count() == 2
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" not in mail.outbox[0].body
    assert "http://testserver/admin/" in mail.outbox[0].body


@pytest.mark.django_db
def test_inviting_an_existing_member_twice_is_a_form_error(client, two_tenants):
    tenant = two_tenants["a"]
    client.force_login(tenant["owner"])
    assert _invite(client, tenant["agency"]).status_code == 302
    again = _invite(client, tenant["agency"], email="New.Colleague@example.com")
    assert again.status_code == 200
    assert "already a member" in str(again.context["form"].non_field_errors())
    assert len(mail.outbox) == 1
    assert Membership.objects.filter(user__email="new.colleague@example.com").count() == 1


@pytest.mark.django_db
def test_membership_user_choices_exclude_other_tenants(client, two_tenants):
    """The plain "add membership" form must not list every tenant's logins."""
    client.force_login(two_tenants["a"]["owner"])
    page = client.get(reverse("admin:integration_membership_add"))
    choices = page.context["adminform"].form.fields["user"].queryset
    names = set(choices.values_list("username", flat=True))
    assert "viewer-agency-a" in names
    assert not any(name.endswith("agency-b") for name in names)


@pytest.mark.django_db
def test_membership_filter_lists_only_own_agencies(client, two_tenants):
    """The changelist's "By agency" filter used to list every agency in the
    database, naming other tenants."""
    client.force_login(two_tenants["a"]["owner"])
    page = client.get(reverse("admin:integration_membership_changelist")).content.decode()
    assert "Agency A" in page
    assert "Agency B" not in page


@pytest.mark.django_db
def test_owner_cannot_list_other_tenants_users(client, two_tenants):
    client.force_login(two_tenants["a"]["owner"])
    response = client.get("/admin/auth/user/")
    listed = (set(response.context["cl"].queryset.values_list("username", flat=True))
              if response.status_code == 200 else set())
    assert "owner-agency-b" not in listed
