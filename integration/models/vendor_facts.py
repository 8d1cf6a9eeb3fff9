"""What the portal has learned about a shop's vendor accounts, and the
contract probe's reports.

Why a table of facts: where the vendors' documentation is silent (tags in
HDE's ticket update, the names of RetailCRM's key rights, whether every key
may read the account settings…, `docs/vendors/open-questions.md`), the
clients are written to work under every plausible answer, and some answers
are only learned by trying: a refused `tags` parameter, a read that answers
403. A fact remembers such an answer per shop and vendor so the next job
takes the working path at once, and the console can say, in words, what is
switched off and why. A fact is tied to the connection's identity (account
URL and key) it was observed with: a new key or account starts afresh.

Why a report model: the contract probe (`manage.py vendor_probe`, the shop
page's "Check against the real service") checks every assumption against the
shop's own accounts; the latest report is what a deployer reads before going
live, and what the facts were settled from. Lines hold codes and message ids
with parameters (translated when shown), and only ids, counts and shapes as
evidence: never an e-mail, phone, name or text of a customer.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from integration.core.querysets import ShopOwnedQuerySet
from integration.models.logs import Provider


class FactSource(models.TextChoices):
    RUNTIME = "runtime", _("learned while working")
    CHECK = "check", _("connection test")
    PROBE = "probe", _("contract probe")


class VendorFact(models.Model):
    shop = models.ForeignKey("integration.Shop", on_delete=models.CASCADE,
                             related_name="vendor_facts", verbose_name=_("shop"))
    provider = models.CharField(_("provider"), max_length=20, choices=Provider.choices)
    name = models.CharField(_("question"), max_length=60)
    value = models.JSONField(_("answer"), default=dict, blank=True)
    # `ConnectionBase.identity` when observed: another key or account URL
    # makes the fact stale (it is then ignored, and overwritten when seen).
    identity = models.CharField(max_length=40, blank=True, default="")
    source = models.CharField(_("learned from"), max_length=10, choices=FactSource.choices,
                              default=FactSource.RUNTIME)
    observed_at = models.DateTimeField(_("observed"))

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("vendor behaviour")
        verbose_name_plural = _("vendor behaviours")
        constraints = [models.UniqueConstraint(fields=["shop", "provider", "name"],
                                               name="vendor_fact_unique")]

    def __str__(self):
        return f"{self.provider}:{self.name}"


class ProbeOutcome(models.TextChoices):
    HOLDS = "holds", _("holds")
    DIFFERS = "differs", _("differs")
    UNCHECKED = "unchecked", _("could not check")


class ProbeReport(models.Model):
    shop = models.ForeignKey("integration.Shop", on_delete=models.CASCADE,
                             related_name="probe_reports", verbose_name=_("shop"))
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     verbose_name=_("requested by"))
    write_test = models.BooleanField(_("with the write test"), default=False)
    # [{"check", "provider", "question", "outcome", "tolerated", "detail":
    #   [msgid, params], "evidence": [[msgid, params], ...], "switched": [...]}]
    lines = models.JSONField(_("lines"), default=list, blank=True)
    # The probe itself failed (not an assumption): a fixed text, translated
    # when shown.
    error = models.TextField(_("error"), blank=True, default="")

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("contract probe report")
        verbose_name_plural = _("contract probe reports")
        ordering = ["-started_at", "-pk"]

    def __str__(self):
        return f"{self.shop} {self.started_at:%Y-%m-%d %H:%M}"

    def count(self, outcome: str) -> int:
        return sum(1 for line in self.lines or [] if line.get("outcome") == outcome)

    @property
    def untolerated(self) -> int:
        """Lines where the account differs in a way the portal cannot work
        around (the command exits non-zero for them)."""
        return sum(1 for line in self.lines or []
                   if line.get("outcome") == ProbeOutcome.DIFFERS and not line.get("tolerated"))
