"""Per-shop vendor connections. API keys are encrypted at rest."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from integration.core.fields import EncryptedTextField
from integration.core.querysets import ShopOwnedQuerySet


class HttpsURLField(models.URLField):
    """Vendor URLs typed without a scheme mean https, never plain http."""

    def formfield(self, **kwargs):
        kwargs.setdefault("assume_scheme", "https")
        return super().formfield(**kwargs)


class ConnectionStatus(models.TextChoices):
    UNKNOWN = "unknown", _("Not tested yet")
    OK = "ok", _("Working")
    FAILING = "failing", _("Failing")
    NEEDS_ATTENTION = "needs_attention", _("Key refused: needs attention")


class ConnectionBase(models.Model):
    """Fields shared by both vendors: where, the secret, and health."""

    base_url = HttpsURLField(_("base URL"), max_length=300)
    api_key = EncryptedTextField(_("API key"))
    status = models.CharField(
        _("status"), max_length=20, choices=ConnectionStatus.choices,
        default=ConnectionStatus.UNKNOWN,
    )
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True, default="")
    consecutive_failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def key_hint(self) -> str:
        """Masked hint: enough to recognise a key, never enough to use it."""
        key = self.api_key or ""
        return f"••••{key[-4:]}" if len(key) >= 8 else ("••••" if key else "")

    @property
    def host(self) -> str:
        from urllib.parse import urlsplit

        return urlsplit(self.base_url).netloc.lower()


class RetailCrmConnection(ConnectionBase):
    shop = models.OneToOneField(
        "integration.Shop", on_delete=models.CASCADE, related_name="retailcrm",
        verbose_name=_("shop"),
    )
    site_code = models.CharField(
        _("site code"), max_length=100, blank=True, default="",
        help_text=_("Store (site) code in RetailCRM; needed when the key sees several stores."),
    )

    class Meta:
        verbose_name = _("RetailCRM connection")
        verbose_name_plural = _("RetailCRM connections")

    def __str__(self):
        return f"RetailCRM: {self.base_url}"


class HelpDeskEddyConnection(ConnectionBase):
    shop = models.OneToOneField(
        "integration.Shop", on_delete=models.CASCADE, related_name="helpdeskeddy",
        verbose_name=_("shop"),
    )
    agent_email = models.EmailField(_("agent e-mail"))
    hde_user_id = models.PositiveIntegerField(
        _("HDE user id of the key"), null=True, blank=True,
        help_text=_("Filled by the connection test; used to recognise the portal's own changes."),
    )

    class Meta:
        verbose_name = _("HelpDeskEddy connection")
        verbose_name_plural = _("HelpDeskEddy connections")

    def __str__(self):
        return f"HelpDeskEddy: {self.base_url}"
