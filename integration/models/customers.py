"""What the portal remembers about customers across tickets."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from integration.core.querysets import ShopOwnedQuerySet


class CustomerLink(models.Model):
    """HDE requester → RetailCRM customer, once matched or chosen, so the
    next ticket from the same person skips the search (and a chooser answer
    is not asked twice)."""

    shop = models.ForeignKey("integration.Shop", on_delete=models.CASCADE,
                             related_name="customer_links", verbose_name=_("shop"))
    hde_user_id = models.PositiveBigIntegerField(_("HDE user id"))
    customer_id = models.PositiveBigIntegerField(_("RetailCRM customer id"))
    updated_at = models.DateTimeField(auto_now=True)

    objects = ShopOwnedQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer link")
        verbose_name_plural = _("customer links")
        constraints = [models.UniqueConstraint(fields=["shop", "hde_user_id"],
                                               name="customer_link_shop_user_unique")]

    def __str__(self):
        return f"HDE {self.hde_user_id} → RetailCRM {self.customer_id}"
