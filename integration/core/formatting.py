"""Money and dates as people read them: the shop's currency and time zone,
whatever the server's locale.

Services (texts written into HDE and RetailCRM, replies, the widget's profile
rows) and templates (through `integration.templatetags.widget_format`) share
these, so a ticket comment and the card never disagree on a sum or a date.
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€", "KZT": "₸", "BYN": "Br", "UAH": "₴"}


def money(value, currency="RUB"):
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return ""
    whole = f"{amount:,.2f}".replace(",", "\u00a0").replace(".00", "")
    return f"{whole}\u00a0{CURRENCY_SIGNS.get(currency, currency)}"


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


def shop_date(value):
    if not value:
        return ""
    try:
        return date.fromisoformat(str(value)[:10]).strftime("%d.%m.%Y")
    except ValueError:
        return str(value)
