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


class UniformObjectAccessMixin:
    """An object the user may not see is, for every object URL (change,
    history, delete, and custom views that use `get_object`), exactly a
    missing one.

    Why: Django's views look the object up first and check the permission
    after, so `/ratelimitstate/<id>/history/` answered 403 for a row that
    exists and a redirect ("does not exist") for one that does not, telling
    anyone which ids exist in a model they may not read at all. Returning
    None here makes Django take its "does not exist" path in both cases.
    ConsoleSite mixes this into every ModelAdmin registered on it.
    """

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None and not self.has_view_or_change_permission(request, obj):
            return None
        return obj

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        """Django's notice names the object's internal id ("Shop with ID “2”
        doesn't exist", and in Russian "…Возможно оно было удалено?"): the
        console says the same without the id, in words that suit any noun.
        The same words whether the object never existed or is another
        agency's (the queryset above hides it either way)."""
        from django.contrib import messages
        from django.http import HttpResponseRedirect
        from django.urls import reverse
        from django.utils.translation import gettext

        self.message_user(request, gettext("Not found: %(name)s (perhaps it was deleted).") % {
            "name": opts.verbose_name}, messages.WARNING)
        return HttpResponseRedirect(reverse("admin:index", current_app=self.admin_site.name))


class ConsoleSite(admin.AdminSite):
    site_header = _("RetailCRM ↔ HelpDeskEddy portal")
    site_title = _("Integration portal")
    index_title = _("Shops, connections and sync logs")
    # One mark for "no value" everywhere: the portal's own fields write an
    # em dash, and Django's default ("-") made the same page show both.
    empty_value_display = "—"

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every ModelAdmin, ours and the contrib apps' alike, answers for an
        object the user may not see as for a missing one."""
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, UniformObjectAccessMixin):
            admin_class = type(admin_class.__name__, (UniformObjectAccessMixin, admin_class),
                               {"__module__": admin_class.__module__,
                                "__doc__": admin_class.__doc__})
        return super().register(model_or_iterable, admin_class, **options)

    def index(self, request, extra_context=None):
        """The admin's home is the agency dashboard: after logging in, people
        land where their shops' checklists and health are. The model lists
        stay one click away in the navigation sidebar."""
        from integration.console.dashboard import dashboard_view

        return dashboard_view(request)

    def get_urls(self):
        from integration.console.dashboard import console_urls

        return console_urls(self) + super().get_urls()


class ConsoleAdminConfig(AdminConfig):
    """Replaces `django.contrib.admin` in INSTALLED_APPS."""

    default_site = "integration.console.site.ConsoleSite"
