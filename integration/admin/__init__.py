"""Admin registrations, one module per area."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from integration.admin import logs, replies, rules, shops, tenancy  # noqa: F401
from integration.admin.login_throttle import ThrottledAdminAuthenticationForm

admin.site.site_header = _("RetailCRM ↔ HelpDeskEddy portal")
admin.site.site_title = _("Integration portal")
admin.site.index_title = _("Shops, connections and sync logs")
admin.site.login_form = ThrottledAdminAuthenticationForm

# Support analytics (a proxy of the ticket ledger).
from integration.admin import analytics as support_analytics  # noqa: E402, F401

# The agency console (dashboard, "Add a shop" wizard): URLs in front of the site's own.
from integration.admin import dashboard as console  # noqa: E402, F401

# Order watch (per-shop switches, cursor, "Poll now") and the local order copies.
from integration.admin import order_watch  # noqa: E402, F401

# Browser-extension tokens (issue, list, revoke), from the extension package.
from integration.extension import admin as extension_tokens  # noqa: E402, F401
