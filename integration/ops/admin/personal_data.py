"""Admin pages for personal data on the shop: erasing a shop behind a page
that says what will go, and exporting one customer's stored data.

Why replace Django's delete page for shops: it lists every related object
(thousands of events and API calls) yet not the cache, and a bulk
"delete selected" skips the cache altogether. Here the page shows rows per
table, asks for the shop's name, and erases through the service. Both pages
go through the ShopAdmin's scoped queryset, so another tenant's shop answers
404, and only owners/admins of the agency (delete/change permission) may use
them.
"""

import json

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from integration.console.history import history_note
from integration.ops.personal_data import (
    customer_data_export,
    shop_erase,
    shop_erase_plan,
)
from integration.tenancy.access import can_read_personal_data


class EraseForm(forms.Form):
    confirm_name = forms.CharField(label=gettext_lazy("Type the shop's name to confirm"),
                                   max_length=200)

    def __init__(self, *args, shop, **kwargs):
        super().__init__(*args, **kwargs)
        self.shop = shop

    def clean_confirm_name(self):
        value = self.cleaned_data["confirm_name"].strip()
        if value != self.shop.name:
            raise forms.ValidationError(_("The name does not match; nothing was deleted."))
        return value


class CustomerExportForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail"), required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), required=False, max_length=40)
    customer_id = forms.IntegerField(label=gettext_lazy("RetailCRM customer id"),
                                     required=False, min_value=1)

    def clean(self):
        data = super().clean()
        if not (data.get("email") or data.get("phone") or data.get("customer_id")):
            raise forms.ValidationError(_("Give an e-mail, a phone or a customer id."))
        return data


class ShopPersonalDataMixin:
    """Mixed into ShopAdmin (before the tenant mixin's ModelAdmin)."""

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        return [
            path("<path:object_id>/export-customer/",
                 self.admin_site.admin_view(self.customer_export_view),
                 name="{}_{}_export_customer".format(*info)),
            *super().get_urls(),
        ]

    def get_actions(self, request):
        """Bulk delete would skip the erase page and the cache."""
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def _shop_or_404(self, request, object_id):
        shop = self.get_object(request, unquote(object_id))
        if shop is None:
            raise Http404(_("No such shop."))
        return shop

    def delete_view(self, request, object_id, extra_context=None):
        shop = self._shop_or_404(request, object_id)
        if not self.has_delete_permission(request, shop):
            raise PermissionDenied
        form = EraseForm(request.POST if request.method == "POST" else None, shop=shop)
        if request.method == "POST" and form.is_valid():
            name = str(shop)
            self.log_deletions(request, [shop])
            deleted = shop_erase(shop=shop)
            self.message_user(request, _("Shop “%(name)s” and all its data were erased "
                                         "(%(rows)d rows).") % {"name": name,
                                                                "rows": sum(deleted.values())},
                              messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:integration_shop_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Erase shop “%(name)s”") % {"name": shop.name},
            "opts": self.opts, "object": shop, "shop": shop, "form": form,
            "plan": shop_erase_plan(shop=shop),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/personal_data/erase_shop.html", context)

    def customer_export_view(self, request, object_id):
        shop = self._shop_or_404(request, object_id)
        if not can_read_personal_data(request.user, shop.agency_id):
            raise PermissionDenied  # viewers may not take personal data out
        form = CustomerExportForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            data = customer_data_export(shop=shop, email=form.cleaned_data["email"] or "",
                                        phone=form.cleaned_data["phone"] or "",
                                        customer_id=form.cleaned_data["customer_id"])
            self.log_change(request, shop, history_note(
                gettext_noop("Exported a customer's stored data.")))
            response = HttpResponse(json.dumps(data, ensure_ascii=False, indent=2),
                                    content_type="application/json; charset=utf-8")
            name = slugify(form.cleaned_data["email"] or form.cleaned_data["phone"]
                           or str(form.cleaned_data["customer_id"]))
            response["Content-Disposition"] = f'attachment; filename="customer-{name}.json"'
            return response
        context = {
            **self.admin_site.each_context(request),
            "title": _("Export a customer's stored data"), "opts": self.opts,
            "object": shop, "shop": shop, "form": form,
        }
        return TemplateResponse(request, "admin/personal_data/export_customer.html", context)
