"""Browser-extension tokens: how an operator's browser proves it may ask the
portal for widget links.

A token belongs to one agency and opens only that agency's shops. Only a
SHA-256 hash and a four-character hint are stored (the plaintext is shown
once when issued); revoking keeps the row, so the admin's history and the
audit entries still name it.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExtensionToken(models.Model):
    agency = models.ForeignKey(
        "integration.Agency", on_delete=models.CASCADE, related_name="extension_tokens",
        verbose_name=_("agency"),
    )
    label = models.CharField(
        _("label"), max_length=100,
        help_text=_("Whose browser it is, e.g. the operator's name."),
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(_("hint"), max_length=12, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("issued by"), editable=False,
    )
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+", verbose_name=_("revoked by"), editable=False,
    )

    class Meta:
        verbose_name = _("extension token")
        verbose_name_plural = _("extension tokens")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.label} (…{self.hint})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None
