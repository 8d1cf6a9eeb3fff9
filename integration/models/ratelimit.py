"""Cross-process rate-limit state, keyed by connection identity: provider,
host and a keyed digest of account URL + key (`BaseClient.account_key_for`).

Not tenant-owned: several shops may use one key of one vendor account, and
then share its budget and its bans. Never keyed by the host alone: shops on
other accounts of that host, or with other keys, must not share a budget or
a ban (a tenant could otherwise spend or block another's).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RateLimitState(models.Model):
    """Per vendor account: our sliding-window log, the vendor-reported
    `X-Rate-Limit-Remaining`, and a ban."""

    key = models.CharField(_("account"), max_length=200, unique=True)
    # Send times (epoch seconds) inside the current sliding window; updated
    # under a row lock, see integration.vendors.throttle.
    hits = models.JSONField(default=list, blank=True)
    banned_until = models.DateTimeField(_("banned until"), null=True, blank=True)
    remaining = models.IntegerField(_("remaining in window"), null=True, blank=True)
    remaining_at = models.DateTimeField(_("remaining at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("vendor rate-limit state")
        verbose_name_plural = _("vendor rate-limit states")

    def __str__(self):
        return self.key
