"""Extension tokens in the admin: owners and admins of an agency issue, list
and revoke them; nobody else sees them (a viewer has no use for a list of
colleagues' browser credentials).

Issuing shows the plaintext once, on its own page (never in a message, which
would travel in a cookie). Revoking keeps the row. Each issue and revocation
is a `LogEntry` (who, when, the token by its label), shown in the token's
history and the admin's recent actions.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from integration.console.history import history_note
from integration.extension.services import extension_token_issue, extension_token_revoke
from integration.extension.templating import render_page
from integration.models import ExtensionToken
from integration.tenancy.access import agencies_editable_by, can_edit_agency_data


def editable_agencies(user):
    """Agencies where the user may manage extension tokens."""
    return agencies_editable_by(user)


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", _("active")), ("revoked", _("revoked"))]

    def queryset(self, request, queryset):
        if self.value() in ("active", "revoked"):
            return queryset.filter(revoked_at__isnull=self.value() == "active")
        return queryset


@admin.register(ExtensionToken)
class ExtensionTokenAdmin(admin.ModelAdmin):
    list_display = ("label", "agency", "hint_display", "state", "created_by", "created_at",
                    "last_used_at", "revoked_at")
    list_filter = (("agency", admin.RelatedOnlyFieldListFilter), StateFilter)
    search_fields = ("label",)
    list_select_related = ("agency", "created_by", "revoked_by")
    actions = ["revoke"]
    fields = ("agency", "label")
    readonly_fields = ("hint_display", "state", "created_by", "created_at", "last_used_at",
                       "revoked_by", "revoked_at")

    # -- who sees what -----------------------------------------------------
    def get_queryset(self, request):
        return super().get_queryset(request).filter(
            agency__in=editable_agencies(request.user))

    def _may_manage(self, request, obj=None) -> bool:
        if obj is not None:
            return can_edit_agency_data(request.user, obj.agency_id)
        return editable_agencies(request.user).exists()

    def has_module_permission(self, request):
        return super().has_module_permission(request) and self._may_manage(request)

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) and self._may_manage(request, obj)

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self._may_manage(request)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_manage(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, never deleted: the audit trail names them

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "agency":
            kwargs["queryset"] = editable_agencies(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_fields(self, request, obj=None):
        return self.fields if obj is None else ("agency", "label", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("agency", "label", *self.readonly_fields)

    # -- columns -----------------------------------------------------------
    @admin.display(description=_("token"))
    def hint_display(self, token):
        return f"…{token.hint}"

    @admin.display(description=_("state"))
    def state(self, token):
        return gettext("active") if token.active else gettext("revoked")

    # -- issuing -----------------------------------------------------------
    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing about a token is edited after it is issued
        if not can_edit_agency_data(request.user, obj.agency_id):
            raise PermissionDenied
        _token, plaintext = extension_token_issue(agency=obj.agency, label=obj.label,
                                                  user=request.user, instance=obj)
        request._extension_plaintext = plaintext

    def construct_change_message(self, request, form, formsets, add=False):
        return gettext("Issued an extension token.") if add else ""

    def response_add(self, request, obj, post_url_continue=None):
        """The token's only showing: its own page, not cached anywhere."""
        from django.conf import settings
        from django.urls import reverse

        plaintext = getattr(request, "_extension_plaintext", None)
        if plaintext is None:
            return super().response_add(request, obj, post_url_continue)
        html = render_page(request, "extension/token_issued.html", {
            **self.admin_site.each_context(request),
            "title": _("Extension token issued"), "opts": self.model._meta, "token": obj,
            "plaintext": plaintext, "portal_url": settings.PORTAL_BASE_URL,
            "install_url": reverse("extension-install"),
            "changelist_url": reverse("admin:integration_extensiontoken_changelist"),
        })
        response = HttpResponse(html)
        response["Cache-Control"] = "no-store"
        return response

    # -- revoking ----------------------------------------------------------
    @admin.action(description=_("Revoke selected extension tokens"), permissions=["change"])
    def revoke(self, request, queryset):
        revoked = 0
        for token in queryset.select_related("agency"):
            if not can_edit_agency_data(request.user, token.agency_id):
                continue
            if extension_token_revoke(token=token, user=request.user):
                self.log_change(request, token, history_note(
                    gettext_noop("Revoked the extension token.")))
                revoked += 1
        self.message_user(request, gettext("Extension tokens revoked: %(count)d.")
                          % {"count": revoked}, messages.SUCCESS)
