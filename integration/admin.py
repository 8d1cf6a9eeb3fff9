"""Admin registrations: each capability registers its own screens.

Django's autodiscovery imports `integration.admin`; importing each feature's
admin module here is what registers it on the console site
(`integration.console.site.ConsoleSite`).
"""

from integration.analytics import admin as analytics_admin  # noqa: F401
from integration.console import dashboard  # noqa: F401
from integration.extension import admin as extension_admin  # noqa: F401
from integration.ops.admin import logs, personal_data  # noqa: F401
from integration.orders import admin as orders_admin  # noqa: F401
from integration.replies import admin as replies_admin  # noqa: F401
from integration.tenancy.admin import agencies, shops  # noqa: F401
from integration.tickets import admin as tickets_admin  # noqa: F401
