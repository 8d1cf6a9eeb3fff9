"""Template filters for money and dates (the logic: `integration.core.formatting`)."""

from django import template

from integration.core import formatting

register = template.Library()
register.filter("money", formatting.money)
register.filter("shop_datetime", formatting.shop_datetime)
register.filter("shop_date", formatting.shop_date)
register.filter("shop_datetime_zoned", formatting.shop_datetime_zoned)
register.filter("status_shown", formatting.status_shown)
register.filter("phone_shown", formatting.phone_shown)
register.filter("phones_shown", formatting.phones_shown)
register.filter("data_age", formatting.data_age)
