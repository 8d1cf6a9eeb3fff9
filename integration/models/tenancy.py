"""Tenancy: Agency (tenant root) → Shop; users join agencies via Membership."""

import uuid
import zoneinfo

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def validate_timezone(value: str) -> None:
    """IANA names only (kept out of `choices` so migrations stay small)."""
    from django.core.exceptions import ValidationError

    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(value)s"), params={"value": value})


class Agency(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    VIEWER = "viewer", _("Viewer")


class Membership(models.Model):
    """A user's role in one agency. Roles map to Django groups (see
    `integration.tenancy.roles`) so the admin's own permission checks apply."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships",
        verbose_name=_("user"),
    )
    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships",
                               verbose_name=_("agency"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "agency"], name="membership_user_agency_unique")
        ]

    def __str__(self):
        return f"{self.user} @ {self.agency} ({self.get_role_display()})"


class Language(models.TextChoices):
    RU = "ru", _("Russian")
    EN = "en", _("English")


class Shop(models.Model):
    agency = models.ForeignKey(
        Agency, on_delete=models.CASCADE, related_name="shops", verbose_name=_("agency")
    )
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.RU,
        help_text=_(
            "Language of texts the portal writes into HDE and RetailCRM, and of the widget."
        ),
    )
    currency = models.CharField(_("currency"), max_length=3, default="RUB")
    timezone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Moscow", validators=[validate_timezone],
        help_text=_("IANA name, e.g. Europe/Moscow. Dates in the widget use it."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["agency__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "name"], name="shop_agency_name_unique")
        ]

    def __str__(self):
        return self.name


class Invitation(models.Model):
    """An owner's offer of a role in their agency, waiting for the invited
    person to accept it.

    Why it is a row of its own rather than a Membership: a membership grants
    (the member sees the agency's shops, and the agency's owner may lift the
    member's login lock-out), so it must never exist without the person's
    say. The owner names an e-mail address; whoever holds that address gets
    a link, and the membership is created only when they accept it, logged in
    as the account of that address (or, when there is none, choosing the
    password of a new one). Only a hash of the link's token is stored.
    """

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="invitations",
                               verbose_name=_("agency"))
    email = models.EmailField(_("e-mail"))
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("invited by"))
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("accepted by"))

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.email} → {self.agency} ({self.get_role_display()})"
