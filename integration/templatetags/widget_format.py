"""Formatting for the widget: money in the shop's currency, dates in the
shop's timezone, whatever the server's locale."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django import template

register = template.Library()

CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€", "KZT": "₸", "BYN": "Br", "UAH": "₴"}


@register.filter
def money(value, currency="RUB"):
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return ""
    whole = f"{amount:,.2f}".replace(",", "\u00a0").replace(".00", "")
    return f"{whole}\u00a0{CURRENCY_SIGNS.get(currency, currency)}"


@register.filter
def shop_datetime(value, tz_name="Europe/Moscow"):
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(tz_name))
    return moment.strftime("%d.%m.%Y %H:%M")


@register.filter
def shop_date(value):
    if not value:
        return ""
    try:
        return date.fromisoformat(str(value)[:10]).strftime("%d.%m.%Y")
    except ValueError:
        return str(value)
