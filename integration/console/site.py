"""The console: Django's admin site, dressed as the agency's product.

A subclass instead of patching `admin.site.get_urls` at import time, so the
console's own pages (dashboard, "Add a shop" wizard) are part of the site's URL
list by construction and the site's look is declared in one place.
`ConsoleAdminConfig.default_site` makes this the `admin.site` every
`@admin.register` uses. Refused logins are counted and locked out by
django-axes (an authentication backend, see settings `AXES_*`), so the login
form itself is Django's.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class ConsoleSite(admin.AdminSite):
    site_header = _("RetailCRM ↔ HelpDeskEddy portal")
    site_title = _("Integration portal")
    index_title = _("Shops, connections and sync logs")

    def get_urls(self):
        from integration.console.dashboard import console_urls

        return console_urls(self) + super().get_urls()


class ConsoleAdminConfig(AdminConfig):
    """Replaces `django.contrib.admin` in INSTALLED_APPS."""

    default_site = "integration.console.site.ConsoleSite"
