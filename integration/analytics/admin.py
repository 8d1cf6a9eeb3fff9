"""Support analytics in the admin: one page per shop and period (repeat
purchases with and without support, by priority and handling time; customer
value by priority; products in tickets) with server-rendered SVG charts, a
CSV of the products, and the products written to RetailCRM as a note.

The shop comes from a choice limited to `shops_for_user`, so another
tenant's shop id is "not a valid choice" on the page and 404 on the CSV and
note endpoints, exactly like a missing one. Writing the note needs an editing
role in the shop's agency.
"""

from datetime import timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseBadRequest, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integration.analytics import reports as analytics
from integration.console.mixins import ReadOnlyAdminMixin, TenantScopedAdminMixin
from integration.console.svg_charts import bar_chart
from integration.core import formatting
from integration.models import RetailCrmConnection, SupportAnalytics
from integration.ops.log_export import csv_lines
from integration.tenancy.access import can_edit_agency_data, shops_for_user
from integration.vendors.errors import ApiError, vendor_detail

MAX_DAYS = 366


class AnalyticsFilterForm(forms.Form):
    shop = forms.ModelChoiceField(queryset=None, label=gettext_lazy("shop"))
    date_from = forms.DateField(label=gettext_lazy("from"),
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=gettext_lazy("to (included)"),
                              widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shop"].queryset = shops_for_user(user).order_by("name")

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The period must start before it ends."))
        if start and end and (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(
                _("Pick at most %(days)d days.") % {"days": MAX_DAYS})
        return data

    def period(self) -> analytics.Period:
        return analytics.Period.of_dates(shop=self.cleaned_data["shop"],
                                         date_from=self.cleaned_data["date_from"],
                                         date_to=self.cleaned_data["date_to"])


class NoteForm(forms.Form):
    customer_id = forms.IntegerField(
        min_value=1, label=gettext_lazy("RetailCRM customer id for merchandising notes"))


def _filter_form(request, data):
    """Bound to the request's values; a first visit gets the user's first
    shop and the last 30 days (in that shop's timezone)."""
    data = data.copy()
    shops = shops_for_user(request.user).order_by("name")
    if not data.get("shop") and shops.exists():
        data["shop"] = str(shops.first().pk)
    if not data.get("date_to") or not data.get("date_from"):
        shop = shops.filter(pk=data.get("shop")).first() if str(data.get("shop")).isdigit() \
            else None
        today = timezone.localdate(timezone=ZoneInfo(shop.timezone) if shop else None)
        data.setdefault("date_to", today.isoformat())
        data.setdefault("date_from", (today - timedelta(days=29)).isoformat())
    return AnalyticsFilterForm(data, user=request.user)


def _percent(rate) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def _money(value, currency) -> str:
    """In the reader's language, as the card writes money ("4 300 ₽", "₽4,300")."""
    return "—" if value is None else formatting.money(value, currency)


def _whole(value) -> str:
    return formatting.number(value, places=0)


@admin.register(SupportAnalytics)
class SupportAnalyticsAdmin(ReadOnlyAdminMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    """No list and no forms: the changelist URL is the analytics page."""

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("", wrap(self.changelist_view), name="integration_supportanalytics_changelist"),
            path("products.csv", wrap(self.products_csv_view),
                 name="integration_supportanalytics_products_csv"),
            path("products-note/", wrap(self.products_note_view),
                 name="integration_supportanalytics_products_note"),
        ]

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = _filter_form(request, request.GET)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Support analytics"),
            "form": form,
        }
        if form.is_valid():
            context.update(self._report_context(request, form))
        return TemplateResponse(request, "admin/analytics/index.html", context)

    def _report_context(self, request, form):
        shop, period = form.cleaned_data["shop"], form.period()
        currency = shop.currency
        repeat = analytics.repeat_purchase_report(shop=shop, period=period)
        values = analytics.ticket_value_by_priority(shop=shop, period=period)
        products = analytics.ticket_products(shop=shop, period=period)
        query = urlencode({"shop": shop.pk, "date_from": period.date_from.isoformat(),
                           "date_to": period.date_to.isoformat()})

        return {
            "shop": shop,
            "period": period,
            "repeat": repeat,
            "values": [(row, _money(row.total, currency), _money(row.average, currency))
                       for row in values],
            "products": products,
            "rate_rows": [(row, _percent(row.rate))
                          for row in (repeat.contacted, repeat.not_contacted)],
            "priority_rows": [(row, _percent(row.rate)) for row in repeat.by_priority],
            "handling_rows": [(row, _percent(row.rate)) for row in repeat.by_handling],
            "query": query,
            "charts": self._charts(repeat, values, products, currency),
            "can_write_note": can_edit_agency_data(request.user, shop.agency_id)
            and RetailCrmConnection.objects.filter(shop=shop).exists(),
            "note_form": NoteForm(),
        }

    @staticmethod
    def _charts(repeat, values, products, currency):
        """Each chart names both axes, with units, in the reader's language."""
        def rates(rows):
            return [(row.label, row.rate, f"{_percent(row.rate)} ({row.repeaters}/"
                     f"{row.customers})") for row in rows]

        rate_axis = _("Share of customers who bought again")
        money_sign = formatting.CURRENCY_SIGNS.get((currency or "RUB").upper(), currency)
        return {
            "repeat": bar_chart(rates([repeat.contacted, repeat.not_contacted]),
                                title=_("Repeat-purchase rate"), max_value=1,
                                category_axis=_("Customers who"), value_axis=rate_axis,
                                tick_text=_percent),
            "priority": bar_chart(rates(repeat.by_priority),
                                  title=_("Repeat-purchase rate by priority"), max_value=1,
                                  category_axis=_("Priority of the first ticket"),
                                  value_axis=rate_axis, tick_text=_percent),
            "handling": bar_chart(rates(repeat.by_handling),
                                  title=_("Repeat-purchase rate by handling time"),
                                  max_value=1,
                                  category_axis=_("Handling time of the first ticket"),
                                  value_axis=rate_axis, tick_text=_percent),
            "value": bar_chart(
                [(row.label, float(row.total), _money(row.total, currency)) for row in values],
                title=_("Customer value by priority"), category_axis=_("Ticket priority"),
                value_axis=_("Customers' purchases, %(currency)s") % {"currency": money_sign},
                tick_text=_whole),
            "products": bar_chart(
                [(row.label, row.orders, str(row.orders)) for row in products[:10]],
                title=_("Products in orders linked to tickets"), category_axis=_("Product"),
                value_axis=_("Number of orders linked to tickets"), tick_text=_whole,
                whole=True),
        }

    def _scoped_form(self, request, data):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = AnalyticsFilterForm(data, user=request.user)
        if not form.is_valid():
            if "shop" in form.errors:
                raise Http404("No such shop.")
            return None
        return form

    def products_csv_view(self, request):
        form = self._scoped_form(request, request.GET)
        if form is None:
            return HttpResponseBadRequest(_("Pick a valid period."))
        period = form.period()
        rows = analytics.ticket_products(shop=form.cleaned_data["shop"], period=period,
                                         limit=10_000)
        lines = csv_lines(["product_id", "name", "orders", "customers"],
                          ([r.product_id, r.name, r.orders, r.customers] for r in rows))
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        name = f"ticket-products-{period.date_from}-{period.date_to}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def products_note_view(self, request):
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:integration_supportanalytics_changelist"))
        form = self._scoped_form(request, request.POST)
        if form is None:
            return HttpResponseBadRequest(_("Pick a valid period."))
        shop = form.cleaned_data["shop"]
        if not can_edit_agency_data(request.user, shop.agency_id):
            raise PermissionDenied
        back = reverse("admin:integration_supportanalytics_changelist") + "?" + urlencode(
            {"shop": shop.pk, "date_from": form.cleaned_data["date_from"].isoformat(),
             "date_to": form.cleaned_data["date_to"].isoformat()})
        note = NoteForm(request.POST)
        if not note.is_valid():
            self.message_user(request, _("Give the RetailCRM customer id that keeps the "
                                         "merchandising notes."), messages.ERROR)
            return HttpResponseRedirect(back)
        if not RetailCrmConnection.objects.filter(shop=shop).exists():
            self.message_user(request, _("Connect RetailCRM for this shop first."),
                              messages.ERROR)
            return HttpResponseRedirect(back)
        customer_id = note.cleaned_data["customer_id"]
        try:
            note_id = analytics.ticket_products_note_write(
                shop=shop, period=form.period(), customer_id=customer_id)
        except ApiError as error:
            self.message_user(request, _("RetailCRM refused the note: %(error)s") % {
                "error": vendor_detail(error)}, messages.ERROR)
        else:
            self.message_user(request, _("Note %(note)s written to RetailCRM customer "
                                         "%(customer)s.") % {"note": note_id,
                                                             "customer": customer_id},
                              messages.SUCCESS)
        return HttpResponseRedirect(back)
