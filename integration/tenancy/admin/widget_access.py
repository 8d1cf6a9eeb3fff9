"""The shop page's "Widget links and tokens": what lets someone outside the
admin read the shop's customers, and how an owner or admin takes it back.

- Widget links (written into every ticket's "CRM card" field) are revoked
  all at once: the shop's link salt changes, every link signed before stops
  working, and the ticket job writes a fresh link into a ticket at its next
  event. Behind a confirmation page.
- Widget API tokens are issued with a label (the plaintext is shown once, in
  the answer to the issuing POST: never in a message, which would be stored
  in the session or a cookie), listed with who issued them and when they
  were last used, and revoked one by one.

Each change is written to the shop's history (Django's LogEntry: who, when,
what); the admin site marks every answer uncacheable. Viewers see the page
(what exists, when it was used) but cannot revoke or issue: every POST asks
the shop admin's change permission, i.e. the owner or admin role in the
shop's agency (integration.tenancy.access).
"""

from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from integration.console.history import history_note
from integration.models import SecretKind
from integration.tenancy.secrets import shop_secret_issue, shop_secret_revoke, shop_secrets_list
from integration.widget.links import widget_links_revoke


class ShopWidgetAccessMixin:
    """Mixed into ShopAdmin."""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/widget-access/", view(self.widget_access_view),
                 name="{}_{}_widget_access".format(*info)),
            path("<path:object_id>/widget-access/revoke-links/",
                 view(self.widget_links_revoke_view),
                 name="{}_{}_widget_links_revoke".format(*info)),
            path("<path:object_id>/widget-access/tokens/",
                 view(self.widget_token_issue_view),
                 name="{}_{}_widget_token_issue".format(*info)),
            path("<path:object_id>/widget-access/tokens/<int:secret_id>/revoke/",
                 view(self.widget_token_revoke_view),
                 name="{}_{}_widget_token_revoke".format(*info)),
            *super().get_urls(),
        ]

    def _access_shop(self, request, object_id, *, change: bool):
        """The shop through the scoped queryset (another tenant's shop is a
        404 like a missing one); changing needs the owner or admin role."""
        shop = self.get_object(request, unquote(object_id))
        if shop is None or not self.has_view_permission(request, shop):
            raise Http404(_("No such shop."))
        if change and not self.has_change_permission(request, shop):
            raise PermissionDenied
        return shop

    def _access_url(self, shop):
        return reverse("admin:integration_shop_widget_access", args=[shop.pk])

    def _access_page(self, request, shop, *, token: str = "", label: str = ""):
        context = {
            **self.admin_site.each_context(request),
            "title": _("Widget links and tokens: %(shop)s") % {"shop": shop.name},
            "opts": self.opts, "original": shop, "shop": shop,
            "can_change": self.has_change_permission(request, shop),
            "tokens": shop_secrets_list(shop=shop, kind=SecretKind.WIDGET_TOKEN),
            "new_token": token, "new_label": label,
        }
        return TemplateResponse(request, "admin/integration/shop/widget_access.html", context)

    def widget_access_view(self, request, object_id):
        shop = self._access_shop(request, object_id, change=False)
        return self._access_page(request, shop)

    def widget_links_revoke_view(self, request, object_id):
        """GET: what revoking does, and a button. POST: revoke."""
        shop = self._access_shop(request, object_id, change=True)
        if request.method == "POST":
            widget_links_revoke(shop=shop)
            self.log_change(request, shop, history_note(
                gettext_noop("Revoked every widget link of the shop.")))
            self.message_user(request, _("Every widget link of %(shop)s stopped working. Each "
                                         "ticket gets a fresh link at its next event.")
                              % {"shop": shop.name}, messages.SUCCESS)
            return HttpResponseRedirect(self._access_url(shop))
        return TemplateResponse(request, "admin/integration/shop/widget_links_revoke.html", {
            **self.admin_site.each_context(request),
            "title": _("Revoke every widget link of %(shop)s?") % {"shop": shop.name},
            "opts": self.opts, "original": shop, "shop": shop,
            "access_url": self._access_url(shop),
        })

    def widget_token_issue_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        shop = self._access_shop(request, object_id, change=True)
        label = request.POST.get("label", "").strip()[:100]
        if not label:
            self.message_user(request, _("Give the token a label: who or what will use it."),
                              messages.ERROR)
            return HttpResponseRedirect(self._access_url(shop))
        token = shop_secret_issue(shop=shop, kind=SecretKind.WIDGET_TOKEN, label=label,
                                  issued_by=request.user)
        self.log_change(request, shop, history_note(
            gettext_noop("Issued a widget API token “%(label)s” (…%(hint)s)."),
            label=label, hint=token[-4:]))
        return self._access_page(request, shop, token=token, label=label)

    def widget_token_revoke_view(self, request, object_id, secret_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        shop = self._access_shop(request, object_id, change=True)
        secret = shop_secret_revoke(shop=shop, kind=SecretKind.WIDGET_TOKEN,
                                    secret_id=secret_id)
        if secret is None:
            raise Http404(_("No such active token."))
        self.log_change(request, shop, history_note(
            gettext_noop("Revoked the widget API token “%(label)s” (…%(hint)s)."),
            label=secret.label, hint=secret.hint))
        self.message_user(request, _("The token “%(label)s” no longer opens the API.")
                          % {"label": secret.label}, messages.SUCCESS)
        return HttpResponseRedirect(self._access_url(shop))
