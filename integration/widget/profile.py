"""The widget's profile rows: which customer facts, labelled and ordered as
the shop configured them (WidgetField), formatted in the shop's currency
and timezone."""

from django.utils.translation import gettext as _

from integration.core.formatting import money, phones_shown, shop_date
from integration.customers.types import CustomerContext
from integration.models import ProfileValue, WidgetField

DEFAULT_PROFILE = [ProfileValue.ORDERS_COUNT, ProfileValue.TOTAL_SUM, ProfileValue.AVERAGE_SUM,
                   ProfileValue.CUSTOMER_SINCE, ProfileValue.DISCOUNT]


def _value(key: str, context: CustomerContext, shop, code: str = "") -> str:
    customer = context.customer
    discount = customer.personal_discount or customer.cumulative_discount
    values = {
        ProfileValue.EMAILS: ", ".join(customer.emails),
        ProfileValue.PHONES: ", ".join(phones_shown(customer.phones)),
        ProfileValue.ORDERS_COUNT: str(customer.orders_count),
        ProfileValue.TOTAL_SUM: money(customer.total_sum, shop.currency),
        ProfileValue.AVERAGE_SUM: money(customer.average_sum, shop.currency),
        ProfileValue.CUSTOMER_SINCE: shop_date(customer.created_at),
        ProfileValue.DISCOUNT: f"{discount:g}%" if discount else "",
        ProfileValue.SITE: customer.site,
    }
    if key == ProfileValue.CUSTOM_FIELD:
        raw = customer.custom_fields.get(code, "")
        return ", ".join(map(str, raw)) if isinstance(raw, list) else str(raw)
    return values.get(key, "")


def profile_rows(*, shop, context: CustomerContext) -> list[tuple[str, str]]:
    """(label, value) pairs; empty values are left out."""
    if context.customer is None:
        return []
    configured = list(WidgetField.objects.for_shop(shop))
    if configured:
        specs = [(f.value, f.custom_field_code, f.label) for f in configured]
    else:
        specs = [(key, "", "") for key in DEFAULT_PROFILE]
    rows = []
    for key, code, label in specs:
        value = _value(key, context, shop, code)
        if value:
            rows.append((label or (code if key == ProfileValue.CUSTOM_FIELD and code
                                   else _(ProfileValue(key).label)), value))
    return rows
