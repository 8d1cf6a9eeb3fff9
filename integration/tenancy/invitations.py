"""Inviting a colleague into an agency: an offer the invited person accepts.

Why an offer and not a membership: a membership grants. The member sees the
agency's shops, and the agency's owner may lift the member's login lock-out
(integration.tenancy.login_lockout). If an owner could make any existing
account a member by typing its e-mail, they could attach the superuser or
another agency's owner to their agency and then act on that account. So an
invitation (`Invitation`) grants nothing while it waits: the membership is
created only when the person accepts it, logged in as the account of the
invited address, or, when no account has that address, by choosing the
password of a new account through the link only that address received.

What the owner learns: nothing about accounts. The invite form does not look
accounts up at all (only "already a member of *your* agency", which the
owner sees anyway); it answers the same and sends the same e-mail whether
the address has an account or not. Only the person holding the link learns
whether their own address has one.

The link carries a random token; only its SHA-256 is stored, it works until
it is used or INVITATION_DAYS pass, and inviting the same address into the
same agency again replaces the earlier link. The e-mail goes through Django's
mail API inside the transaction: if sending fails, no invitation is left.
"""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from integration.models import Invitation, Membership, Role
from integration.tenancy.access import can_manage_members

INVITATION_DAYS = 7


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _normalised(email: str) -> str:
    return get_user_model().objects.normalize_email((email or "").strip()).lower()


def _accounts_for(email: str):
    """Accounts that stand for this address: its e-mail, or a user name equal
    to it (invited users are named by their address)."""
    return get_user_model()._default_manager.filter(
        Q(email__iexact=email) | Q(username__iexact=email))


def invitation_url(*, token: str, request_base_url: str) -> str:
    path = reverse("invitation-accept", kwargs={"token": token})
    return f"{request_base_url.rstrip('/')}{path}"


def _invitation_message(*, inviter, agency, role, url) -> tuple[str, str]:
    params = {
        "inviter": inviter.get_full_name() or inviter.email or inviter.get_username(),
        "agency": agency.name,
        "role": Role(role).label,
        "url": url,
        "days": INVITATION_DAYS,
    }
    subject = _("You have been invited to %(agency)s") % params
    # One text for everyone: the sender must not be able to tell from what
    # the portal does whether the address already has an account.
    body = _(
        "%(inviter)s invites you to %(agency)s on the integration portal as %(role)s.\n\n"
        "Open this link to accept (it works once, for %(days)d days):\n%(url)s\n\n"
        "If you already have an account on the portal, log in with it when asked; "
        "otherwise you choose a password there. Nothing changes until you accept.\n"
    ) % params
    return subject, body


def membership_invite(
    *, inviter, agency, email: str, role: str, request_base_url: str
) -> Invitation:
    """Offer `email` the `role` in `agency` and e-mail them the link.

    Only an owner of `agency` (or a superuser) may invite; anyone else gets
    PermissionDenied, which the admin answers with 403. No account is looked
    up or created here (see the module docstring).
    """
    if not can_manage_members(inviter, agency.pk):
        raise PermissionDenied(_("Only an owner of this agency can invite colleagues."))
    if role not in Role.values:
        raise ValidationError(_("Unknown role: %(role)s"), params={"role": role})
    email = _normalised(email)
    if not email:
        raise ValidationError(_("An e-mail address is required."))

    with transaction.atomic():
        if Membership.objects.filter(
                Q(user__email__iexact=email) | Q(user__username__iexact=email),
                agency=agency).exists():
            raise ValidationError(
                _("%(email)s is already a member of %(agency)s."),
                params={"email": email, "agency": agency.name},
            )
        # A new invitation replaces a pending one: its old link stops working.
        Invitation.objects.filter(agency=agency, email=email, accepted_at__isnull=True).delete()
        token = secrets.token_urlsafe(32)
        invitation = Invitation.objects.create(
            agency=agency, email=email, role=role, invited_by=inviter,
            token_hash=_token_hash(token),
            expires_at=timezone.now() + timedelta(days=INVITATION_DAYS))
        subject, body = _invitation_message(
            inviter=inviter, agency=agency, role=role,
            url=invitation_url(token=token, request_base_url=request_base_url))
        send_mail(subject, body, None, [email])
    return invitation


def invitation_pending(token: str) -> Invitation | None:
    """The pending (not accepted, not expired) invitation of a link's token."""
    if not token or len(token) > 100:
        return None
    return (Invitation.objects.select_related("agency")
            .filter(token_hash=_token_hash(token), accepted_at__isnull=True,
                    expires_at__gt=timezone.now()).first())


def invitation_is_for(invitation: Invitation, user) -> bool:
    """Whether `user` is the account of the invited address."""
    if not user.is_authenticated or not user.is_active:
        return False
    email = invitation.email.lower()
    return (user.email or "").lower() == email or user.get_username().lower() == email


def invitation_needs_account(invitation: Invitation) -> bool:
    """True when no account stands for the invited address: the link then
    lets its holder (the address's owner) choose a password for a new one."""
    return not _accounts_for(invitation.email).exists()


def _claim(invitation: Invitation) -> Invitation:
    """The invitation's row, locked, still pending: a link is used once."""
    locked = (Invitation.objects.select_for_update()
              .filter(pk=invitation.pk, accepted_at__isnull=True,
                      expires_at__gt=timezone.now()).first())
    if locked is None:
        raise ValidationError(_("This invitation is no longer valid."))
    return locked


def _join(invitation: Invitation, user) -> Membership:
    membership, _created = Membership.objects.get_or_create(
        user=user, agency=invitation.agency, defaults={"role": invitation.role})
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    return membership


def invitation_accept(*, invitation: Invitation, user) -> Membership:
    """`user`, logged in, accepts: only the account of the invited address
    may (anyone else holding the link gets PermissionDenied)."""
    if not invitation_is_for(invitation, user):
        raise PermissionDenied(_("This invitation is for another account."))
    with transaction.atomic():
        return _join(_claim(invitation), user)


def invitation_decline(*, invitation: Invitation, user) -> None:
    if not invitation_is_for(invitation, user):
        raise PermissionDenied(_("This invitation is for another account."))
    Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).delete()


def invitation_accept_new_account(*, invitation: Invitation, password: str):
    """Create the account of the invited address with `password` and make it
    a member. Refused when an account for the address exists meanwhile (its
    owner logs in and accepts instead)."""
    User = get_user_model()
    with transaction.atomic():
        invitation = _claim(invitation)
        if _accounts_for(invitation.email).exists():
            raise ValidationError(_("An account for this address exists: log in with it to "
                                    "accept."))
        user = User(username=invitation.email, email=invitation.email)
        user.set_password(password)
        user.save()
        _join(invitation, user)
    return user


def invitations_pending_for(user):
    """Pending invitations an owner (or superuser) sees: those of agencies
    whose members they manage."""

    from integration.tenancy.access import agencies_owned_by

    return Invitation.objects.filter(agency__in=agencies_owned_by(user),
                                     accepted_at__isnull=True)


def invitation_new_user(invitation: Invitation):
    """The account a new-account acceptance would create, unsaved: what the
    password validators compare the chosen password with."""
    return get_user_model()(username=invitation.email, email=invitation.email)
