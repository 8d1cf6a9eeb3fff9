"""Reply templates in the admin: edit with the variable list beside the text,
unknown variables rejected on save (`reply_template_validate`), and a preview that
renders a template for a real customer of the shop's RetailCRM."""

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from integration.console.mixins import ReadOnlyAdminMixin, TenantScopedAdminMixin
from integration.console.review import ReviewMarkMixin
from integration.models import ReplyTemplate, SentReply, TicketRecord
from integration.replies import service as reply_service
from integration.tenancy.access import can_read_personal_data, shops_with_personal_data


class StatusGroupsField(forms.MultipleChoiceField):
    """Ticked groups; an empty value (a form posted by a script) is none."""

    def to_python(self, value):
        return [item for item in super().to_python(value) if item]


class ReplyTemplateForm(forms.ModelForm):
    """Status groups are ticked by name (RetailCRM's standard groups, which
    every account has), stored as their codes."""

    order_status_groups = StatusGroupsField(
        label=_("only when the order is in status groups"), required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[(code, reply_service.STATUS_GROUP_LABELS[code])
                 for code in reply_service.STATUS_GROUPS],
        help_text=_("None ticked: any status."))

    class Meta:
        model = ReplyTemplate
        fields = ["shop", "name", "language", "active", "position", "body",
                  "order_required", "order_status_groups", "vip_only"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["order_status_groups"] = self.instance.status_groups

    def clean_order_status_groups(self):
        return ",".join(self.cleaned_data.get("order_status_groups") or [])

    def clean(self):
        data = super().clean()
        groups = [c for c in (data.get("order_status_groups") or "").split(",") if c]
        try:
            reply_service.reply_template_validate(body=data.get("body", ""),
                                                  status_groups=groups)
        except ValidationError as errors:
            for field, messages in errors.message_dict.items():
                for message in messages:
                    self.add_error(field, message)
        return data


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(ReviewMarkMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    review_kind = "templates"
    form = ReplyTemplateForm
    list_display = ("name", "language", "active", "conditions", "position", "shop",
                    "preview_link")
    list_display_links = ("name",)
    list_filter = ("language", "active", ("shop", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "body")
    list_select_related = ("shop",)
    readonly_fields = ("variables",)
    fieldsets = (
        (None, {"fields": ("shop", "name", "language", "active", "position", "body",
                           "variables")}),
        (_("When to suggest it"), {
            "description": _("The widget offers templates whose conditions hold first. "
                             "Leave all empty for a template that fits any ticket."),
            "fields": ("order_required", "order_status_groups", "vip_only")}),
    )

    @admin.display(description=_("variables"))
    def variables(self, obj=None):
        rows = ((f"{{{{ {name} }}}}", label)
                for name, (label, _needs, _get) in reply_service.VARIABLES.items())
        table = format_html('<table class="reply-variables">{}</table>', format_html_join(
            "", "<tr><td><code>{}</code></td><td>{}</td></tr>", rows))
        if obj is None or obj.pk is None:
            return table
        return format_html('<p><a href="{}" data-preview-link>{}</a></p>{}',
                           reverse("admin:integration_replytemplate_preview", args=[obj.pk]),
                           _("Preview for a customer →"), table)

    def get_list_display(self, request):
        """The preview reads a real customer: not offered to viewers."""
        shown = super().get_list_display(request)
        if not shops_with_personal_data(request.user).exists():
            shown = tuple(name for name in shown if name != "preview_link")
        return shown

    @admin.display(description=_("conditions"))
    def conditions(self, obj):
        parts = []
        if obj.order_required:
            parts.append(str(_("order")))
        if obj.status_groups:
            parts.append(", ".join(str(reply_service.STATUS_GROUP_LABELS.get(code, code))
                                   for code in obj.status_groups))
        if obj.vip_only:
            parts.append(str(_("VIP only")))
        return " · ".join(parts) or "—"

    @admin.display(description=_("preview"))
    def preview_link(self, obj):
        url = reverse("admin:integration_replytemplate_preview", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Preview"))

    def get_urls(self):
        preview = path("<path:object_id>/preview/",
                       self.admin_site.admin_view(self.preview_view),
                       name="integration_replytemplate_preview")
        return [preview, *super().get_urls()]

    def preview_view(self, request, object_id):
        """Render the template for a customer found by e-mail, phone or
        order number (or a customer of a recent ticket) in the shop's
        RetailCRM, as the widget would. Another tenant's template is a 404."""
        template = self.get_object(request, object_id)
        if template is None or not self.has_view_permission(request, template):
            raise Http404
        shop = template.shop
        if not can_read_personal_data(request.user, shop.agency_id):
            raise PermissionDenied  # a preview reads a real customer
        who = request.GET.get("who", "").strip()[:100]
        customer_id = request.GET.get("customer_id", "")
        rendered, context = None, None
        if who or customer_id.isdigit():
            context = reply_service.customer_context_for_preview(
                shop=shop, who=who, customer_id=int(customer_id) if customer_id.isdigit()
                else None)
            if context.status == "found":
                rendered = reply_service.reply_render(shop=shop, template=template,
                                                      context=context)
        recent = (TicketRecord.objects.for_shop(shop).exclude(customer_id=None)
                  .values_list("customer_id", "subject").order_by("-created_at")[:8])
        return TemplateResponse(request, "admin/replies/preview.html", {
            **self.admin_site.each_context(request),
            "opts": self.model._meta, "original": template, "title": _("Preview: %(name)s")
            % {"name": template.name}, "template_obj": template, "who": who,
            "ctx": context, "rendered": rendered, "recent": recent,
            "has_view_permission": True,
        })


@admin.register(SentReply)
class SentReplyAdmin(ReadOnlyAdminMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    """What operators sent from the widget, per ticket: written by the
    portal only."""

    list_display = ("sent_at", "ticket_number", "template_name", "kind", "order_number",
                    "shop")
    list_filter = ("kind", ("shop", admin.RelatedOnlyFieldListFilter))
    search_fields = ("template_name", "order_number", "text")
    list_select_related = ("shop", "ticket")
    fields = ("shop", "ticket", "template_name", "kind", "order_number", "text",
              "hde_message_id", "sent_at")
    readonly_fields = fields

    @admin.display(description=_("HDE ticket"), ordering="ticket__ticket_id")
    def ticket_number(self, obj):
        return f"#{obj.ticket.ticket_id}"

    def _reads_personal_data(self, request, obj=None) -> bool:
        if obj is not None:
            return can_read_personal_data(request.user, obj.shop.agency_id)
        shops = self.get_queryset(request).values("shop")
        return not shops.exclude(shop__in=shops_with_personal_data(request.user)).exists()

    def get_fields(self, request, obj=None):
        """A sent text names the customer (and may hold an address): hidden
        from viewers (integration.tenancy.access)."""
        fields = super().get_fields(request, obj)
        if not self._reads_personal_data(request, obj):
            fields = [name for name in fields if name != "text"]
        return fields

    def get_search_fields(self, request):
        if not self._reads_personal_data(request):
            return ("template_name", "order_number")
        return super().get_search_fields(request)

    def has_delete_permission(self, request, obj=None):
        return False

