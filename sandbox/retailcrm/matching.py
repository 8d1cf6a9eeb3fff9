"""How the emulator's list filters match e-mails and phones.

The vendor's rules are open questions (docs/vendors/retailcrm.md §8.1, §11.1, §19), so each
rule follows the account's switches (sandbox.retailcrm.behaviour):

- `filter[name]` on customers matches name parts and phones. A phone-like
  needle (digits with `+`, spaces, brackets, dashes; five digits or more)
  matches by `phone_match`: `digits_substring` (the needle's digits inside a
  stored phone's digits; an 11-digit +7/8 number by its 10 national digits),
  `whole_number` (a stored phone written exactly as typed), `prefix` (a
  stored phone's digits start with the needle's digits, no 7/8 rewriting).
- `filter[email]` (customers and orders) by `email_case` (`insensitive` /
  `sensitive`) and `email_match` (`substring` / `exact`).
- `filter[email]` on orders by `order_email_filter` too: the order's own
  e-mail (`order_email`), its customer's (`customer_email`), `either`, or
  not at all (`ignored`: the whole list, as a server that does not know the
  filter answers).
- `filter[customer]` on orders: the customer's name or phone as
  `filter[name]` matches them, or part of the customer's e-mail.
"""

import re

from django.db.models import TextField, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Lower, StrIndex

from sandbox.retailcrm.store import phone_digits

PHONE_LIKE = re.compile(r"^[\d\s+()\-.]+$")
MIN_PHONE_DIGITS = 5


def is_phone_like(needle: str) -> bool:
    return bool(PHONE_LIKE.match(needle)) and len(phone_digits(needle)) >= MIN_PHONE_DIGITS


def by_name(account, rows, needle: str):
    """Customers (`rows`) that `filter[name]=needle` finds."""
    raw = str(needle).strip()
    lowered = raw.lower()
    if not is_phone_like(lowered):
        return rows.filter(search_text__contains=lowered)
    digits = phone_digits(lowered)
    mode = account.switch("phone_match")
    if mode == "digits_substring":
        if len(digits) == 11 and digits[0] in "78":
            digits = digits[1:]
        return rows.filter(search_text__contains=digits)
    # `search_text` holds every phone's digits: a cheap superset, then the
    # exact rule on the few candidates.
    if mode == "whole_number":
        def matches(number: str) -> bool:
            return number.strip() == raw
    else:  # prefix
        def matches(number: str) -> bool:
            return phone_digits(number).startswith(digits)
    found = [
        pk for pk, phones in rows.filter(search_text__contains=digits).values_list(
            "pk", "doc__phones")
        if any(matches(str((phone or {}).get("number", ""))) for phone in phones or [])
    ]
    return rows.filter(pk__in=found)


def by_email(account, rows, needle: str):
    """Rows (customers or orders: both keep `email` in `doc`, and lower-cased
    in a column) that
    `filter[email]=needle` finds."""
    raw = str(needle).strip()
    sensitive = account.switch("email_case") == "sensitive"
    exact = account.switch("email_match") == "exact"
    if sensitive:
        # Cast: a bare key transform would compare as JSON, not as text.
        stored = rows.annotate(_email=Cast(KT("doc__email"), TextField()))
        if exact:
            return stored.filter(_email=raw)
        # INSTR / STRPOS compare case-sensitively on SQLite and PostgreSQL
        # alike (LIKE does not on SQLite).
        return stored.annotate(_at=StrIndex("_email", Value(raw))).filter(_at__gt=0)
    if any(f.name == "email" for f in rows.model._meta.fields):
        # Customers and orders keep it lower-cased in an indexed column.
        if exact:
            return rows.filter(email=raw.lower())
        return rows.filter(email__contains=raw.lower())
    lowered = rows.annotate(_email=Lower(KT("doc__email")))
    if exact:
        return lowered.filter(_email=raw.lower())
    return lowered.filter(_email__contains=raw.lower())


def orders_by_email(account, rows, needle: str):
    """Orders (`rows`) that `filter[email]=needle` finds, by the
    `order_email_filter` switch; each e-mail compared by `by_email`."""
    from sandbox.retailcrm.models import Customer

    mode = account.switch("order_email_filter")
    if mode == "ignored":
        return rows
    own = by_email(account, rows, needle)
    if mode == "order_email":
        return own
    customers = by_email(account, Customer.objects.filter(account=account), needle)
    theirs = rows.filter(customer_crm_id__in=customers.values("crm_id"))
    if mode == "customer_email":
        return theirs
    return rows.filter(pk__in=own.values("pk")) | rows.filter(pk__in=theirs.values("pk"))


def orders_by_customer(account, rows, customers, needle: str):
    """Orders (`rows`) whose customer `filter[customer]=needle` names."""
    text = str(needle).strip()
    if not text:
        return rows
    ids = set(by_name(account, customers, text).values_list("crm_id", flat=True))
    if not is_phone_like(text):
        ids |= set(customers.filter(email__contains=text.lower()).values_list("crm_id",
                                                                              flat=True))
    return rows.filter(customer_crm_id__in=ids)
