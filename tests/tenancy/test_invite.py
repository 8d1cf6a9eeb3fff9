"""Inviting a colleague: the owner's form, the e-mail, the invitation link
and what the invited person does with it, all through the real admin and the
portal's invitation page.

The rule under test (integration.tenancy.invitations): an invitation grants
nothing until the invited person accepts it, logged in as the account of
the invited address or choosing the password of a new account; and the
owner cannot tell from the portal's answer whether an address has an
account.
"""

import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from integration.models import Invitation, Membership, Role
from integration.tenancy.invitations import membership_invite

INVITE_URL = "/admin/integration/membership/invite/"
NEW_PASSWORD = "Tangerine-Harbour-42"
LINK_RE = re.compile(r"https?://testserver(/accounts/invitation/[^/\s]+/)")


def _invite(client, agency, email="new.colleague@example.com", role=Role.ADMIN):
    return client.post(INVITE_URL, {"agency": agency.pk, "email": email, "role": role})


def _link(message) -> str:
    found = LINK_RE.search(message.body)
    assert found, message.body
    return found.group(1)


def _login(client, username, password="pw-123456!"):
    client.logout()
    response = client.post(reverse("admin:login"), {
        "username": username, "password": password, "next": reverse("admin:index")})
    assert response.status_code == 302 and response.url == reverse("admin:index")


@pytest.mark.django_db
def test_owner_invites_a_new_colleague_who_accepts_by_choosing_a_password(client, two_tenants):
    """The whole path of someone without an account: e-mail, link, password,
    admin login, tenant scoping applied to the new account. Until they
    accept, no account and no membership exist."""
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
    assert not get_user_model().objects.filter(email="new.colleague@example.com").exists()
    pending = client.get(reverse("admin:integration_invitation_changelist"))
    assert "new.colleague@example.com" in pending.content.decode()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["new.colleague@example.com"]
    assert "Agency A" in message.subject
    link = _link(message)
    assert Invitation.objects.get().token_hash not in message.body  # only a hash is stored

    client.logout()
    page = client.get(link)
    assert page.status_code == 200 and page.context["state"] == "new_account"
    assert page["Cache-Control"].startswith("max-age=0") or "no-cache" in page["Cache-Control"]
    mismatch = client.post(link, {"new_password1": NEW_PASSWORD, "new_password2": "other"})
    assert mismatch.context["state"] == "new_account" and mismatch.context["form"].errors
    assert not get_user_model().objects.filter(email="new.colleague@example.com").exists()
    done = client.post(link, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 200 and done.context["state"] == "created"

    user = get_user_model().objects.get(username="new.colleague@example.com")
    assert user.email == "new.colleague@example.com"
    assert user.is_staff  # via the membership signal
    membership = Membership.objects.get(user=user)
    assert (membership.agency, membership.role) == (tenant["agency"], Role.ADMIN)

    # The link is single-use.
    assert client.get(link).status_code == 404

    _login(client, "new.colleague@example.com", NEW_PASSWORD)
    shops = client.get(reverse("admin:integration_shop_changelist"))
    assert shops.status_code == 200
    shown = set(shops.context["cl"].queryset.values_list("name", flat=True))
    assert shown == {"Shop A"}


@pytest.mark.django_db
def test_an_existing_account_becomes_a_member_only_when_it_accepts(client, two_tenants):
    """The finding: B's owner typed into A's invite form became A's member
    without being asked. Now nothing changes until B's owner, logged in as
    themselves, accepts; another account holding the link cannot."""
    owner_a, owner_b = two_tenants["a"]["owner"], two_tenants["b"]["owner"]
    agency_a = two_tenants["a"]["agency"]
    client.force_login(owner_a)
    assert _invite(client, agency_a, email=owner_b.email.upper(), role=Role.VIEWER
                   ).status_code == 302
    assert list(owner_b.memberships.values_list("agency__name", flat=True)) == ["Agency B"]
    listed = client.get(reverse("admin:integration_membership_changelist"))
    assert owner_b not in {m.user for m in listed.context["cl"].queryset}
    link = _link(mail.outbox[0])
    assert mail.outbox[0].to == [owner_b.email]

    # Not logged in: the login form first, coming back to the link.
    client.logout()
    anonymous = client.get(link)
    assert anonymous.status_code == 302 and anonymous.url.startswith(reverse("admin:login"))
    assert link in unquote(anonymous.url)

    # Someone else holding the link (A's owner, here) cannot accept it.
    client.force_login(owner_a)
    assert client.get(link).status_code == 403
    assert client.post(link, {"accept": "1"}).status_code == 403
    assert not Membership.objects.filter(user=owner_b, agency=agency_a).exists()

    # B's owner logs in through that form and comes back to accept.
    client.logout()
    back = client.post(anonymous.url, {"username": owner_b.username, "password": "pw-123456!",
                                       "next": link})
    assert back.status_code == 302 and back.url == link
    confirm = client.get(link)
    assert confirm.status_code == 200 and confirm.context["state"] == "confirm"
    assert "Agency A" in confirm.content.decode()
    accepted = client.post(link, {"accept": "1"})
    assert accepted.status_code == 302 and accepted.url == reverse("admin:index")
    assert Membership.objects.get(user=owner_b, agency=agency_a).role == Role.VIEWER
    assert client.get(link).status_code == 404
    assert not Invitation.objects.filter(accepted_at__isnull=True).exists()


@pytest.mark.django_db
def test_the_invite_form_does_not_tell_whether_an_address_has_an_account(client, two_tenants):
    """Same answer, same message, same e-mail text for an address with an
    account (B's viewer, even the superuser) and one without."""
    owner_a, agency_a = two_tenants["a"]["owner"], two_tenants["a"]["agency"]
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456!")
    client.force_login(owner_a)
    users_before = get_user_model().objects.count()
    answers = []
    for email in (two_tenants["b"]["viewer"].email, root.email, "nobody.yet@example.com"):
        response = _invite(client, agency_a, email=email, role=Role.VIEWER)
        page = client.get(response.url).content.decode()
        message = next(m for m in mail.outbox if m.to == [email])
        answers.append((
            response.status_code, response.url,
            re.search(r"Invitation sent to .*?</li>", page).group(0).replace(email, "<e>"),
            message.subject,
            LINK_RE.sub("<link>", message.body),
        ))
    assert answers[0] == answers[1] == answers[2]
    assert get_user_model().objects.count() == users_before
    assert not Membership.objects.filter(agency=agency_a, role=Role.VIEWER).exclude(
        user=two_tenants["a"]["viewer"]).exists()


@pytest.mark.django_db
def test_declining_replacing_and_expiry_leave_no_membership(client, two_tenants):
    owner_a, viewer_b = two_tenants["a"]["owner"], two_tenants["b"]["viewer"]
    agency_a = two_tenants["a"]["agency"]
    client.force_login(owner_a)
    _invite(client, agency_a, email=viewer_b.email)
    first = _link(mail.outbox[-1])
    _invite(client, agency_a, email=viewer_b.email)  # sent again: the first link dies
    second = _link(mail.outbox[-1])
    assert first != second
    assert Invitation.objects.filter(accepted_at__isnull=True).count() == 1

    client.force_login(viewer_b)
    assert client.get(first).status_code == 404
    declined = client.post(second, {"decline": "1"})
    assert declined.status_code == 200 and declined.context["state"] == "declined"
    assert client.get(second).status_code == 404
    assert not Membership.objects.filter(user=viewer_b, agency=agency_a).exists()

    client.force_login(owner_a)
    _invite(client, agency_a, email=viewer_b.email)
    third = _link(mail.outbox[-1])
    client.force_login(viewer_b)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert client.get(third).status_code == 404
        assert client.post(third, {"accept": "1"}).status_code == 404
    assert not Membership.objects.filter(user=viewer_b, agency=agency_a).exists()


@pytest.mark.django_db
def test_owner_withdraws_a_pending_invitation(client, two_tenants):
    owner_a = two_tenants["a"]["owner"]
    client.force_login(owner_a)
    _invite(client, two_tenants["a"]["agency"], email="someone@example.com")
    link = _link(mail.outbox[0])
    invitation = Invitation.objects.get()
    response = client.post(reverse("admin:integration_invitation_changelist"), {
        "action": "delete_selected", "_selected_action": [invitation.pk], "post": "yes"})
    assert response.status_code == 302
    assert not Invitation.objects.exists()
    client.logout()
    assert client.get(link).status_code == 404

    # Admins and viewers, and other agencies' owners, do not see invitations.
    client.force_login(owner_a)
    _invite(client, two_tenants["a"]["agency"], email="someone@example.com")
    pending = Invitation.objects.get()
    for user in (two_tenants["a"]["admin"], two_tenants["a"]["viewer"],
                 two_tenants["b"]["owner"]):
        client.force_login(user)
        page = client.get(reverse("admin:integration_invitation_changelist"))
        assert page.status_code == 403 or pending not in page.context["cl"].queryset
        assert client.post(reverse("admin:integration_invitation_changelist"), {
            "action": "delete_selected", "_selected_action": [pending.pk], "post": "yes"}
        ).status_code in (200, 302, 403)
    assert Invitation.objects.filter(pk=pending.pk).exists()


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
    assert not Invitation.objects.exists()


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

    with pytest.raises(PermissionDenied):
        membership_invite(inviter=owner_a, agency=agency_b, email="x@example.com",
                          role=Role.VIEWER, request_base_url="http://testserver")
    assert not Invitation.objects.exists()


@pytest.mark.django_db
def test_inviting_an_existing_member_is_a_form_error(client, two_tenants):
    """Membership of the owner's own agency is what the owner sees anyway."""
    tenant = two_tenants["a"]
    client.force_login(tenant["owner"])
    again = _invite(client, tenant["agency"], email=tenant["viewer"].email.upper())
    assert again.status_code == 200
    assert "already a member" in str(again.context["form"].non_field_errors())
    assert mail.outbox == []


@pytest.mark.django_db
def test_owners_cannot_add_or_move_memberships_by_hand(client, two_tenants):
    """The plain "add membership" form would make a member of anyone listed
    without asking; editing would move a membership to another account.
    Owners change roles only; a superuser may still add directly."""
    owner_a, viewer_a = two_tenants["a"]["owner"], two_tenants["a"]["viewer"]
    client.force_login(owner_a)
    assert client.get(reverse("admin:integration_membership_add")).status_code == 403
    membership = Membership.objects.get(user=viewer_a)
    url = reverse("admin:integration_membership_change", args=[membership.pk])
    form = client.get(url).context["adminform"].form
    assert set(form.fields) == {"role"}
    response = client.post(url, {"role": Role.ADMIN, "user": owner_a.pk,
                                 "agency": two_tenants["b"]["agency"].pk})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert (membership.user, membership.agency, membership.role) == (
        viewer_a, two_tenants["a"]["agency"], Role.ADMIN)

    get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456!")
    _login(client, "root")
    assert client.get(reverse("admin:integration_membership_add")).status_code == 200


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
