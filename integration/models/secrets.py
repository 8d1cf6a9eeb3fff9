"""Hashed per-shop secrets: webhook secrets and widget tokens.

Only a SHA-256 hash and a short hint are stored, so a database leak does not
let anyone post events or read customer data; the plaintext is shown once.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from integration.core.querysets import ShopOwnedQuerySet

# Labels the portal itself gives a secret (the set-up wizard, the server
# command's default), stored as these codes and read in the reader's
# language; an admin's own label is shown as typed.
PORTAL_LABELS = {
    "wizard": _("set-up wizard"),
    "cli": _("server command"),
}


class SecretKind(models.TextChoices):
    HDE_WEBHOOK = "hde_webhook", _("HDE webhook secret")
    RETAILCRM_TRIGGER = "retailcrm_trigger", _("RetailCRM trigger secret")
    WIDGET_TOKEN = "widget_token", _("Widget API token")


class ShopSecret(models.Model):
    shop = models.ForeignKey(
        "integration.Shop", on_delete=models.CASCADE, related_name="secrets",
        verbose_name=_("shop"),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=SecretKind.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(_("hint"), max_length=12)
    label = models.CharField(_("label"), max_length=100, blank=True, default="")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                   null=True, blank=True, related_name="+",
                                   verbose_name=_("issued by"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("shop secret")
        verbose_name_plural = _("shop secrets")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["shop", "kind"])]

    def __str__(self):
        return f"{self.get_kind_display()} {self.hint}"

    @property
    def label_shown(self) -> str:
        return str(PORTAL_LABELS.get(self.label, self.label))


class AuthFailure(models.Model):
    """One refused request to a secret-protected endpoint; counted in a
    sliding window to slow down guessing (integration.tenancy.secrets). One
    that presented a replaced secret of the shop (a vendor still sending the
    old one after a reissue) names the shop, for the dashboard's notice."""

    shop = models.ForeignKey("integration.Shop", on_delete=models.CASCADE, null=True,
                             blank=True, related_name="+", verbose_name=_("shop"))
    key = models.CharField(_("key"), max_length=200, db_index=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("refused attempt")
        verbose_name_plural = _("refused attempts")
        indexes = [models.Index(fields=["shop", "created_at"])]

    def __str__(self):
        return f"{self.key} at {self.created_at}"
