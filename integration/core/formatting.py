"""Money and dates as people read them: the shop's currency, language and
time zone, whatever the server's locale.

Services (texts written into HDE and RetailCRM, replies, the widget's profile
rows) and templates (through `integration.templatetags.widget_format`) share
these, so a ticket comment and the card never disagree on a sum or a date.

Why our own rules and not Django's number localisation: the portal serves
each shop in that shop's language inside one process (`translation.override`
around every text), and Django's `USE_THOUSAND_SEPARATOR` is one global
switch; what a shop's customers read must not depend on it. The conventions
are the ones each language's readers expect (CLDR's):
- Russian: a no-break space between thousands, a decimal comma, the sign
  after the amount — "4 390,50 ₽", "990 ₽";
- English: a comma between thousands, a decimal point, the sign before the
  amount — "₽4,390.50", "₽990".
Kopecks/cents are shown only when there are some. Dates: "30.11.2026 15:56"
in Russian, "30 Nov 2026, 15:56" in English (day first, so never mistaken for
the American month-first form).
"""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import phonenumbers
from django.utils import dateformat, translation
from django.utils.translation import gettext, ngettext

from integration.core.phones import phone_parse

CURRENCY_SIGNS = {"RUB": "₽", "USD": "$", "EUR": "€", "KZT": "₸", "BYN": "Br", "UAH": "₴"}
NBSP = "\u00a0"
# language -> (thousands separator, decimal separator, sign before the amount)
NUMBER_STYLES = {"ru": (NBSP, ",", False), "en": (",", ".", True)}
DATETIME_FORMATS = {"ru": "d.m.Y H:i", "en": "j M Y, H:i"}
DATE_FORMATS = {"ru": "d.m.Y", "en": "j M Y"}


def _language(language: str | None) -> str:
    code = (language or translation.get_language() or "ru").split("-")[0].lower()
    return code if code in NUMBER_STYLES else "en"


def number(value, language: str | None = None, places: int = 2) -> str:
    """A number with the language's separators; decimals only when needed."""
    try:
        amount = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    thousands, decimal_sep, _before = NUMBER_STYLES[_language(language)]
    sign = "-" if amount < 0 else ""
    whole, _, fraction = f"{abs(amount):.{places}f}".partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    text = thousands.join(groups)
    if fraction.strip("0"):
        text += decimal_sep + fraction
    return sign + text


def money(value, currency="RUB", language: str | None = None) -> str:
    """An amount in the shop's currency, written the way the language writes
    money (the active language unless given)."""
    amount = number(value, language)
    if not amount:
        return ""
    code = (currency or "RUB").upper()
    sign = CURRENCY_SIGNS.get(code)
    _thousands, _decimal, before = NUMBER_STYLES[_language(language)]
    if sign and before:
        return f"-{sign}{amount[1:]}" if amount.startswith("-") else f"{sign}{amount}"
    return f"{amount}{NBSP}{sign or code}"


def _moment(value):
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


def shop_datetime(value, tz_name="Europe/Moscow", language: str | None = None):
    """Date and time in the shop's time zone, as the language writes them."""
    moment = _shop_moment(value, tz_name)
    if not isinstance(moment, datetime):
        return moment
    code = _language(language)
    with translation.override(code):
        return dateformat.format(moment, DATETIME_FORMATS[code])


def _shop_moment(value, tz_name):
    """The value as a moment in the shop's zone (a zone-less one is taken as
    written); the text to show instead when it is empty or no moment."""
    if not value:
        return ""
    try:
        moment = _moment(value)
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(tz_name or "Europe/Moscow"))
    return moment


def shop_date(value, language: str | None = None):
    """A calendar date (a delivery date, an order's day): no time zone shift
    for a bare date; a datetime is taken as it is written."""
    if not value:
        return ""
    try:
        day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    code = _language(language)
    with translation.override(code):
        return dateformat.format(day, DATE_FORMATS[code])


def shop_day(value, tz_name="Europe/Moscow", language: str | None = None):
    """The shop-local calendar day of a moment (an order placed at 01:30
    Moscow time is that day in Moscow, whatever UTC says)."""
    moment = _shop_moment(value, tz_name)
    if not isinstance(moment, datetime):
        return moment
    return shop_date(moment.date(), language)


def zone_label(moment: datetime) -> str:
    """The zone a shown time is in, short enough for a table cell and the
    same in every language: its offset ("UTC+3", "UTC+5:30", "UTC").
    Abbreviations would not do: tzdata writes many zones as a bare "+05",
    and a Russian reader writes Moscow time "МСК", not "MSK"."""
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    if not minutes:
        return "UTC"
    sign = "+" if minutes > 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def shop_datetime_zoned(value, tz_name="Europe/Moscow", language: str | None = None) -> str:
    """`shop_datetime` followed by the zone ("30.11.2026 15:56 UTC+3"): for
    screens that list rows of several shops, whose zones may differ."""
    if not value:
        return ""
    try:
        moment = _moment(value)
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        return shop_datetime(moment, tz_name, language)
    local = moment.astimezone(ZoneInfo(tz_name or "Europe/Moscow"))
    return f"{shop_datetime(local, tz_name, language)}{NBSP}{zone_label(local)}"


def status_shown(name: str) -> str:
    """An order's status as a person reads it: RetailCRM's name, or words
    saying it has none, never its code. RetailCRM's status book names every
    status it has; an order may still be in one the book lacks (deleted
    from the book, or missing from what the key may read), and its code
    ("adv-ghost") means nothing to an operator or a customer."""
    return name or gettext("unnamed status")


def phone_shown(raw: str) -> str:
    """A phone as people read it, every stored form alike: "+7 903 555-12-34"
    for "89035551234", "8 903 555 12 34" and "+79035551234" (the
    international form, so a number abroad reads right too). What does not
    read as a phone number is shown as it was written."""
    number = phone_parse(raw)
    if number is None:
        return (raw or "").strip()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phones_shown(phones) -> list[str]:
    """A customer's phones as people read them, each number once: RetailCRM
    may hold one number twice in two spellings ("+7 (916) 123-45-67" and
    "89161234567")."""
    shown = []
    for phone in phones or []:
        if (text := phone_shown(phone)) and text not in shown:
            shown.append(text)
    return shown


def data_age(seconds: int) -> str:
    """How old the data on a screen is, in the unit a person would say:
    "Data as of 13 minutes ago.", never "769 seconds"."""
    if seconds < 5:
        return gettext("Data read just now.")
    if seconds < 60:
        return ngettext("Data as of %(n)d second ago.", "Data as of %(n)d seconds ago.",
                        seconds) % {"n": seconds}
    if seconds < 3600:
        minutes = seconds // 60
        return ngettext("Data as of %(n)d minute ago.", "Data as of %(n)d minutes ago.",
                        minutes) % {"n": minutes}
    hours = seconds // 3600
    return ngettext("Data as of %(n)d hour ago.", "Data as of %(n)d hours ago.",
                    hours) % {"n": hours}
