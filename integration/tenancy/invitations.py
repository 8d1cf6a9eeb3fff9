"""Inviting a colleague into an agency.

Why a set-password link rather than a password chosen by the owner: the
owner never knows the colleague's password, and the link is Django's own
password-reset token (`default_token_generator`), so it expires after
PASSWORD_RESET_TIMEOUT and dies as soon as the password is set or the user
logs in. Nothing of ours is stored for the invitation: the Membership is the
invitation, and Django's `PasswordResetConfirmView` consumes the link.

The e-mail goes through Django's mail API, so the backend is a setting
(console by default, SMTP in production). It is sent inside the transaction:
if sending fails, no half-invited user or membership is left behind.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from integration.models import Membership, Role
from integration.tenancy.access import can_manage_members


def set_password_url(*, user, request_base_url: str) -> str:
    """Absolute link to Django's PasswordResetConfirmView for `user`."""
    path = reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return f"{request_base_url.rstrip('/')}{path}"


def _user_for_email(email: str):
    """The existing account for this address, or a new one that cannot log
    in until its owner sets a password through the link."""
    User = get_user_model()
    user = (
        User._default_manager.filter(username__iexact=email).first()
        or User._default_manager.filter(email__iexact=email).order_by("pk").first()
    )
    if user is not None:
        return user, False
    user = User(username=email, email=email)
    user.set_unusable_password()
    user.save()
    return user, True


def _invitation_message(*, inviter, agency, user, role, request_base_url) -> tuple[str, str]:
    inviter_name = inviter.get_full_name() or inviter.email or inviter.get_username()
    params = {
        "inviter": inviter_name,
        "agency": agency.name,
        "role": Role(role).label,
    }
    subject = _("You have been invited to %(agency)s") % params
    if user.has_usable_password():
        # An existing account keeps its password; a reset link here would let
        # an owner push a stranger's account through a password change.
        params["url"] = f"{request_base_url.rstrip('/')}{reverse('admin:index')}"
        body = _(
            "%(inviter)s has added you to %(agency)s on the integration portal "
            "as %(role)s.\n\n"
            "Log in with your existing account:\n%(url)s\n"
        ) % params
    else:
        params["url"] = set_password_url(user=user, request_base_url=request_base_url)
        params["login"] = user.get_username()
        body = _(
            "%(inviter)s has invited you to %(agency)s on the integration portal "
            "as %(role)s.\n\n"
            "Choose your password here (the link works once and expires):\n%(url)s\n\n"
            "Then log in with the user name %(login)s.\n"
        ) % params
    return subject, body


def membership_invite(
    *, inviter, agency, email: str, role: str, request_base_url: str
) -> Membership:
    """Add `email` to `agency` with `role` and e-mail them a way in.

    Only an owner of `agency` (or a superuser) may invite; anyone else gets
    PermissionDenied, which the admin answers with 403. The user is found by
    e-mail (user name = e-mail for invited users) or created with an unusable
    password; the membership signal makes them staff and puts them in the
    role's group.
    """
    if not can_manage_members(inviter, agency.pk):
        raise PermissionDenied(_("Only an owner of this agency can invite colleagues."))
    if role not in Role.values:
        raise ValidationError(_("Unknown role: %(role)s"), params={"role": role})
    email = get_user_model().objects.normalize_email(email.strip()).lower()
    if not email:
        raise ValidationError(_("An e-mail address is required."))

    with transaction.atomic():
        user, _created = _user_for_email(email)
        if Membership.objects.filter(user=user, agency=agency).exists():
            raise ValidationError(
                _("%(email)s is already a member of %(agency)s."),
                params={"email": email, "agency": agency.name},
            )
        membership = Membership.objects.create(user=user, agency=agency, role=role)
        subject, body = _invitation_message(
            inviter=inviter, agency=agency, user=user, role=role,
            request_base_url=request_base_url,
        )
        send_mail(subject, body, None, [user.email or email])
    return membership
