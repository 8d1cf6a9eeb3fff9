"""A proxy of the ticket records that gives the support analytics screen its
place in the admin: an entry on the index, a URL, and a `view_` permission
that the role groups pick up like any model's (integration.tenancy.roles)."""

from django.utils.translation import gettext_lazy as _

from integration.models.automation import TicketRecord


class SupportAnalytics(TicketRecord):
    class Meta:
        proxy = True
        verbose_name = _("support analytics")
        verbose_name_plural = _("support analytics")
