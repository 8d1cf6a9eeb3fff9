"""Per-shop vendor connections. API keys are encrypted at rest, and bound to
the account address (origin and path) they were entered for."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from integration.core import outbound_policy
from integration.core.fields import EncryptedTextField
from integration.core.querysets import ShopOwnedQuerySet

_UNLOADED = object()


def validate_vendor_url(value: str) -> None:
    """The outbound policy (integration.core.outbound_policy) as a field
    validator: https (http only in development or for an allowed host), no
    user-info, no internal address, literal or resolved. Runs wherever a
    person types a vendor URL (the shop page, the onboarding wizard)."""
    try:
        outbound_policy.check_url(value, resolve_host=True)
    except outbound_policy.Refused as refused:
        raise ValidationError(URL_REFUSALS.get(refused.reason, URL_REFUSALS["address"]),
                              code=f"outbound_{refused.reason}") from None


URL_REFUSALS = {
    outbound_policy.SCHEME: _("Use the vendor's https:// address."),
    outbound_policy.USERINFO: _("Remove the user name and password from the address: "
                                "credentials go in their own fields."),
    outbound_policy.HOST: _("This address names an internal service; use the vendor's public "
                            "address."),
    outbound_policy.ADDRESS: _("This address points into a private or internal network; use the "
                               "vendor's public address."),
}


class HttpsURLField(models.URLField):
    """Vendor URLs typed without a scheme mean https, never plain http; every
    value typed into a form passes the outbound policy. (On the form field
    only, not also on the model field: a model form would run it twice and
    look the name up twice; programmatic saves are covered by the clients,
    which refuse such a URL before connecting.)"""

    def formfield(self, **kwargs):
        kwargs.setdefault("assume_scheme", "https")
        field = super().formfield(**kwargs)
        if validate_vendor_url not in field.validators:
            field.validators.append(validate_vendor_url)
        return field


class ConnectionStatus(models.TextChoices):
    UNKNOWN = "unknown", _("Not tested yet")
    OK = "ok", _("Working")
    FAILING = "failing", _("Failing")
    NEEDS_ATTENTION = "needs_attention", _("Key refused: needs attention")


class ConnectionBase(models.Model):
    """Fields shared by both vendors: where, the secret, and health.

    A stored key is bound to the account address it was entered for
    (`key_origin`: scheme, host, port and path, `outbound_policy.account_url`):
    the clients refuse to send it anywhere else, and a form that changes the
    address must be given the key again. The path counts because one host
    can serve several accounts (`/sandbox/retailcrm/demo` and
    `/sandbox/retailcrm/agency-second`, or two installs under one name): a
    key moved to a sibling path would be used on another account. Creating a
    connection, or saving it with a different key, binds the key to the
    current URL; anything else has to call `bind_key()` on purpose.
    """

    base_url = HttpsURLField(_("base URL"), max_length=300)
    api_key = EncryptedTextField(_("API key"))
    key_origin = models.CharField(
        _("key entered for"), max_length=320, blank=True, default="", editable=False,
        help_text=_("The address the stored key was entered for; it is sent nowhere else."))
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

    def save(self, *args, **kwargs):
        if self._state.adding or self._key_replaced():
            # A new row or a new key: given together with this URL.
            self.bind_key()
            update_fields = kwargs.get("update_fields")
            if update_fields is not None and "key_origin" not in update_fields:
                kwargs["update_fields"] = [*update_fields, "key_origin"]
        super().save(*args, **kwargs)
        self._loaded_api_key = self.__dict__.get("api_key", _UNLOADED)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # __dict__, not getattr: a deferred key must not be fetched (and
        # decrypted) just to be remembered.
        instance._loaded_api_key = instance.__dict__.get("api_key", _UNLOADED)
        return instance

    def bind_key(self, api_key: str | None = None) -> None:
        """The key (given, or the current one) was entered for the current
        base URL: from now on it may be sent to that account, and only there."""
        if api_key is not None:
            self.api_key = api_key
        self.key_origin = outbound_policy.account_url(self.base_url)

    @property
    def key_bound(self) -> bool:
        """True when the key may be sent to the current base URL's account."""
        account = outbound_policy.account_url(self.base_url)
        return bool(outbound_policy.origin_of(self.base_url)) and account == self.key_origin

    def _key_replaced(self) -> bool:
        """A different key than the one loaded was assigned. Unknown (the key
        was deferred) counts as not replaced: binding is what grants, so the
        doubtful case must not bind."""
        loaded = getattr(self, "_loaded_api_key", _UNLOADED)
        current = self.__dict__.get("api_key", _UNLOADED)
        return _UNLOADED not in (loaded, current) and loaded != current

    @property
    def key_hint(self) -> str:
        """Masked hint: enough to recognise a key, never enough to use it."""
        key = self.api_key or ""
        return f"••••{key[-4:]}" if len(key) >= 8 else ("••••" if key else "")

    @property
    def host(self) -> str:
        """Host name and port, never user-info (for people and logs)."""
        origin = outbound_policy.origin_of(self.base_url)
        return origin.split("://", 1)[1] if origin else ""

    @property
    def origin(self) -> str:
        """`scheme://host:port` of the base URL (e.g. for `frame-ancestors`)."""
        return outbound_policy.origin_of(self.base_url)

    @property
    def identity(self) -> str:
        """Who this connection is to a vendor: the account URL plus the key,
        as a keyed digest. Every per-account cache, throttle and ban is keyed
        by it, so two shops on one host (sandbox accounts, installs under
        one name) or on one account with different keys never share cached
        data, budgets or bans, and a key the vendor refuses never reads what
        another key cached."""
        text = f"{outbound_policy.account_url(self.base_url)}\n{self.api_key or ''}"
        return salted_hmac("integration.connection-identity", text,
                           algorithm="sha256").hexdigest()[:24]


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
        return f"RetailCRM: {self.host}"


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
        return f"HelpDeskEddy: {self.host}"
