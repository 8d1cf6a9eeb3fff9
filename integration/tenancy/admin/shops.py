"""Shops with their connections, the page a shop admin lives on."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from integration.console.forms import WriteOnlySecretForm
from integration.console.history import history_note
from integration.console.mixins import TenantScopedAdminMixin, TenantScopedInlineMixin
from integration.models import (
    ConnectionStatus,
    HelpDeskEddyConnection,
    RetailCrmConnection,
    SecretKind,
    Shop,
    ShopSecret,
)
from integration.onboarding.admin import ShopConnectionTestMixin, ShopProbeMixin
from integration.ops.admin.personal_data import ShopPersonalDataMixin
from integration.tenancy.admin.widget_access import ShopWidgetAccessMixin
from integration.tickets.admin import FieldMappingInline, ShopSettingsInline, WidgetFieldInline
from integration.vendors.errors import shown_text

# A secret's kind as the middle of a History sentence ("Issued a new widget
# API token"): the kinds' labels start with a capital, which read wrong there
# ("Выпущено: Секрет вебхука HDE"). Message ids, worded when History is read.
SECRET_IN_A_SENTENCE = {
    SecretKind.HDE_WEBHOOK: gettext_noop("a new HDE webhook secret"),
    SecretKind.RETAILCRM_TRIGGER: gettext_noop("a new RetailCRM trigger secret"),
    SecretKind.WIDGET_TOKEN: gettext_noop("a new widget API token"),
}
# The pages of the shop action that issues them: a title per kind (the kind's
# label, capitalised, read wrong after a colon in Russian).
SECRET_TITLES = {
    SecretKind.HDE_WEBHOOK: _("New HDE webhook secrets"),
    SecretKind.RETAILCRM_TRIGGER: _("New RetailCRM trigger secrets"),
}
# Shops one action issues for (the confirmation names each of them).
ISSUE_AT_ONCE = 20
# Entries written before that read on in the reader's language (their kind
# is the capitalised label, so the sentence starts with it).
gettext_noop("Issued a new %(kind)s (…%(hint)s).")


def _issued_when(moment) -> str:
    """How long ago a secret was issued, in words: Django's `naturaltime`
    says "now" for the secret issued a moment ago, which reads as if it were
    being issued still."""
    from datetime import timedelta

    from django.contrib.humanize.templatetags.humanize import naturaltime
    from django.utils import timezone

    if timezone.now() - moment < timedelta(minutes=1):
        return gettext("less than a minute ago")
    return naturaltime(moment)


def health_badge(connection) -> str:
    """Coloured by a class (static/console/console.css `.health-*`): the
    console's CSP allows no inline style attributes."""
    if connection is None:
        return format_html('<span class="health-none">{}</span>', _("not connected"))
    return format_html(
        '<span class="health-{}" title="{}">● {}</span>',
        connection.status if connection.status in ConnectionStatus.values else "unknown",
        shown_text(connection.last_error or ""),
        connection.get_status_display(),
    )


class ConnectionInlineBase(TenantScopedInlineMixin, admin.StackedInline):
    form = WriteOnlySecretForm
    template = "admin/edit_inline/stacked_single.html"  # no "#1" before it is saved
    extra = 1
    max_num = 1
    can_delete = True
    readonly_fields = ("status", "last_success_at", "last_error_at", "last_error_shown",
                       "consecutive_failures")

    # Internals a person rarely needs, folded under "Advanced".
    advanced_fields = ()

    def get_fields(self, request, obj=None):
        """Read-only users (viewers) would get every field rendered as text,
        the decrypted key included: they see the masked hint instead."""
        fields = list(super().get_fields(request, obj))
        if not self.has_change_permission(request, obj):
            fields = ["key_hint" if name == "api_key" else name for name in fields]
        return fields

    def get_fieldsets(self, request, obj=None):
        fields = self.get_fields(request, obj)
        main = [name for name in fields if name not in self.advanced_fields]
        advanced = [name for name in fields if name in self.advanced_fields]
        fieldsets = [(None, {"fields": main})]
        if advanced:
            fieldsets.append((_("Advanced"), {"classes": ("collapse",), "fields": advanced}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        return (*super().get_readonly_fields(request, obj), "key_hint")

    @admin.display(description=_("last error"))
    def last_error_shown(self, connection):
        """Fixed words in the reader's language; a vendor's text as it came
        (already cut short when stored)."""
        return shown_text(connection.last_error or "") or "—"


class RetailCrmConnectionInline(ConnectionInlineBase):
    model = RetailCrmConnection
    fields = ("base_url", "api_key", "site_code", *ConnectionInlineBase.readonly_fields)


class HelpDeskEddyConnectionInline(ConnectionInlineBase):
    model = HelpDeskEddyConnection
    fields = ("base_url", "agent_email", "api_key", "hde_user_id",
              *ConnectionInlineBase.readonly_fields)
    readonly_fields = (*ConnectionInlineBase.readonly_fields, "hde_user_id")
    advanced_fields = ("hde_user_id",)


class ShopSecretInline(TenantScopedInlineMixin, admin.TabularInline):
    """Secrets are listed by hint only; new ones come from the shop actions
    (webhook secrets) and the "Widget links and tokens" page (widget tokens),
    which show the plaintext once."""

    model = ShopSecret
    extra = 0
    fields = ("kind", "hint", "label_column", "created_at", "created_by", "last_used_at",
              "revoked_at")
    readonly_fields = fields
    can_delete = False
    verbose_name_plural = _("Webhook secrets and widget tokens")

    @admin.display(description=_("label"))
    def label_column(self, secret):
        return secret.label_shown

    def has_add_permission(self, request, obj=None):
        return False


class ShopForm(forms.ModelForm):
    """The shop's own fields, checked together with the HDE connection
    posted beside them: an active shop may not share an HDE account and key
    with another active shop (integration.tenancy.hde_accounts)."""

    HDE = "helpdeskeddy"

    def __init__(self, *args, **kwargs):
        from integration.tenancy.time_zones import time_zone_choices

        super().__init__(*args, **kwargs)
        if "timezone" in self.fields:  # picked from the list, never typed
            field = self.fields["timezone"]
            self.fields["timezone"] = forms.ChoiceField(
                label=field.label, help_text=_("Dates in the widget, the console and the texts "
                                               "written into HDE use it."),
                choices=time_zone_choices(self.instance.timezone if self.instance.pk else ""),
                initial=field.initial)

    def _posted_hde(self):
        """(base URL, key) the shop will have after this save, or None."""
        stored = (HelpDeskEddyConnection.objects.filter(shop_id=self.instance.pk).first()
                  if self.instance.pk else None)
        if f"{self.HDE}-TOTAL_FORMS" not in self.data:
            return (stored.base_url, stored.api_key) if stored else None
        if (self.data.get(f"{self.HDE}-TOTAL_FORMS") in ("0", "")
                or self.data.get(f"{self.HDE}-0-DELETE")):
            return None
        url = (self.data.get(f"{self.HDE}-0-base_url") or "").strip()
        if url and "://" not in url:
            url = f"https://{url}"  # as the URL field reads it
        key = (self.data.get(f"{self.HDE}-0-api_key") or "").strip()
        if stored is not None:
            url, key = url or stored.base_url, key or stored.api_key
        return (url, key) if url and key else None

    def clean(self):
        from integration.tenancy.hde_accounts import hde_account_refusal

        data = super().clean()
        if data.get("active"):
            posted = self._posted_hde()
            if posted and (refusal := hde_account_refusal(
                    shop=self.instance, base_url=posted[0], api_key=posted[1])):
                self.add_error("active", refusal)
        return data


@admin.register(Shop)
class ShopAdmin(ShopConnectionTestMixin, ShopProbeMixin, ShopWidgetAccessMixin,
                ShopPersonalDataMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    shop_lookup = ""
    form = ShopForm
    list_display = ("name", "agency", "active", "language", "retailcrm_health", "hde_health")
    # RelatedOnly: the filter lists only agencies present in the scoped
    # queryset, never other tenants' names.
    list_filter = ("active", "language", ("agency", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "agency__name")
    readonly_fields = ("public_id", "created_at")
    fieldsets = (
        (None, {"fields": ("agency", "name", "active", "language", "currency", "timezone")}),
        (_("Advanced"), {"classes": ("collapse",), "fields": ("public_id", "created_at")}),
    )
    inlines = [RetailCrmConnectionInline, HelpDeskEddyConnectionInline, ShopSettingsInline,
               FieldMappingInline, WidgetFieldInline, ShopSecretInline]
    # Widget tokens are issued on the shop's "Widget links and tokens" page.
    actions = ["test_connections", "issue_hde_webhook_secret", "issue_retailcrm_trigger_secret"]
    list_select_related = ("agency", "retailcrm", "helpdeskeddy")

    def add_view(self, request, form_url="", extra_context=None):
        """"Add shop" always means the wizard: it tests both connections live,
        reads HDE's priorities and shows the secrets once, which the plain
        form cannot (the changelist button and the sidebar's "+" land here)."""
        from django.shortcuts import redirect

        return redirect("admin:console-wizard-start")

    @admin.display(description=_("RetailCRM"))
    def retailcrm_health(self, shop):
        return health_badge(getattr(shop, "retailcrm", None))

    @admin.display(description=_("HelpDeskEddy"))
    def hde_health(self, shop):
        return health_badge(getattr(shop, "helpdeskeddy", None))

    @admin.action(description=_("Test connections"), permissions=["view"])
    def test_connections(self, request, queryset):
        from integration.onboarding.connection_check import shop_connections_test

        for shop in queryset[:20]:
            for result in shop_connections_test(shop=shop):
                level = (messages.ERROR if not result.ok else
                         messages.WARNING if result.warning else messages.SUCCESS)
                self.message_user(request, f"{shop.name} · {result.said}",
                                  level)

    def _issue(self, request, queryset, kind):
        """Issue the secrets and show them once, on the answer to this POST:
        a page of its own that no cache keeps (the admin marks every answer
        uncacheable). Never in a message: Django keeps messages in a signed
        but readable cookie (or the session), so the plaintext would travel
        back and forth and rest in the browser.

        Only for the shops the confirmation page showed, and only once: the
        same POST sent again (a reload of this page) issues nothing more
        (`tenancy.secret_confirmation`)."""
        from django.conf import settings
        from django.template.response import TemplateResponse
        from django.urls import reverse

        from integration.tenancy.secret_confirmation import secrets_issue_once, seen_read

        route = {SecretKind.HDE_WEBHOOK: "hook-hde", SecretKind.RETAILCRM_TRIGGER: "hook-retailcrm"}
        if request.POST.get("post") != "yes":
            return self._issue_confirm(request, queryset, kind)
        seen = seen_read(request.POST.get("seen", ""), user=request.user, kinds=[kind])
        editable, not_editable = self._issue_selection(request, queryset)[:2]
        shops = editable + not_editable
        if seen is None or any(shop.pk not in seen for shop in shops):
            return self._issue_confirm(request, queryset, kind, expired=True)
        issued, refused, unchanged = [], [], []
        for shop in shops:
            if not self._may_edit(request, shop):
                refused.append(shop)
                continue
            tokens = secrets_issue_once(shop=shop, kinds=[kind], seen=seen[shop.pk],
                                        issued_by=request.user)
            if tokens is None:
                unchanged.append(shop)
                continue
            token = tokens[kind]
            self.log_change(request, shop, history_note(
                gettext_noop("Issued %(kind)s (…%(hint)s)."), words=("kind",),
                kind=SECRET_IN_A_SENTENCE[kind], hint=token[-4:]))
            where = ""
            if kind in route:
                where = settings.PORTAL_BASE_URL + reverse(route[kind], args=[shop.public_id])
            issued.append({"shop": shop, "token": token, "where": where})
        title = SECRET_TITLES[kind]
        if not issued:
            title = _("%(title)s: nothing was issued") % {"title": title}
        response = TemplateResponse(request, "admin/integration/shop/secrets_issued.html", {
            **self.admin_site.each_context(request),
            "title": title, "opts": self.opts, "kind": SecretKind(kind), "issued": issued,
            "refused": refused, "unchanged": unchanged,
            "unchanged_current": self._current_secrets(unchanged, kind),
            "action": request.POST.get("action", ""),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        })
        response["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def _current_secrets(shops, kind) -> list[dict]:
        """Each shop's secret in force: its last characters, when and by whom
        it was issued (the confirmation says what "Yes" would revoke)."""
        from integration.tenancy.secrets import shop_secrets_list

        rows = []
        for shop in shops:
            current = shop_secrets_list(shop=shop, kind=kind).filter(
                revoked_at__isnull=True).first()
            rows.append({"shop": shop, "current": current,
                         "when": _issued_when(current.created_at) if current else ""})
        return rows

    def _issue_selection(self, request, queryset):
        """The chosen shops as the action treats them: those this user may
        change, at most ISSUE_AT_ONCE; those they may only view, all named
        (nothing is issued for them); and how many changeable ones are left
        out. The cap counts changeable shops only, so view-only ones never
        push a changeable one out nor hide among those left out."""
        chosen = list(queryset)
        editable = [shop for shop in chosen if self._may_edit(request, shop)]
        not_editable = [shop for shop in chosen if shop not in editable]
        return (editable[:ISSUE_AT_ONCE], not_editable,
                max(0, len(editable) - ISSUE_AT_ONCE))

    def _issue_confirm(self, request, queryset, kind, *, expired=False):
        """A new secret revokes the old one at once, so an active shop's
        webhooks are refused until the vendor has the new one: like Django's
        own "delete selected", the action first asks, on a page that names
        the shops, each one's secret in force (issued when, by whom) and what
        stops working, and issues only on "yes". Shops this user may not
        change are named apart, and with none left there is no "yes".
        `expired`: a "yes" came without this user's valid, recent record of
        what the page showed, so it asks again."""
        from django.template.response import TemplateResponse

        from integration.tenancy.secret_confirmation import seen_token

        editable, not_editable, left_out = self._issue_selection(request, queryset)
        shops = editable + not_editable
        rows = self._current_secrets(editable, kind)
        return TemplateResponse(request, "admin/integration/shop/secrets_confirm.html", {
            **self.admin_site.each_context(request),
            "title": SECRET_TITLES[kind], "opts": self.opts, "kind": SecretKind(kind),
            "shops": rows, "not_editable": not_editable, "left_out": left_out,
            "kind_in_a_sentence": gettext(SECRET_IN_A_SENTENCE[kind]),
            "any_in_force": any(row["current"] for row in rows),
            # Only a live shop whose secret is in force loses its webhooks.
            "active_shops": [row["shop"] for row in rows if row["shop"].active and row["current"]],
            "action": request.POST.get("action", ""),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "all_shops": shops,
            "seen": seen_token(user=request.user, shops=shops, kinds=[kind]),
            "expired": expired,
        })

    @admin.action(description=_("Issue a new HDE webhook secret (revokes the old one)"),
                  permissions=["change"])
    def issue_hde_webhook_secret(self, request, queryset):
        return self._issue(request, queryset, SecretKind.HDE_WEBHOOK)

    @admin.action(description=_("Issue a new RetailCRM trigger secret (revokes the old one)"),
                  permissions=["change"])
    def issue_retailcrm_trigger_secret(self, request, queryset):
        return self._issue(request, queryset, SecretKind.RETAILCRM_TRIGGER)
