"""What the portal has learned about one shop's vendor accounts, and what a
RetailCRM key's rights switch off.

The vendors leave several behaviours undocumented
(`docs/vendors/open-questions.md`). The clients work under every plausible
answer; where the working path costs something (a refused parameter, a
second request, a read that always fails), the answer is remembered here,
per shop, vendor and connection identity, so later calls take the right path
at once:

- learned while working (`runtime`): HDE refused `tags` in a ticket update,
  or silently dropped them (seen by re-reading the ticket once);
- by the connection test (`check`): which RetailCRM rights the key has,
  whether the account settings can be read;
- by the contract probe (`probe`): everything above, settled on purpose,
  plus answers the clients only consult (phone search forms that work, the
  orders list's sort order).

A fact observed under another key or account URL is ignored (and replaced
when the answer is seen again): a new key may have other rights, another
account other behaviour.
"""

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from integration.models import FactSource, Provider, VendorFact

logger = logging.getLogger("integration.vendor_facts")

# HelpDeskEddy (H-n in the open questions).
HDE_TAGS_ON_UPDATE = "tags_on_update"  # answer: stick | refused | ignored
HDE_TAGS_ON_CREATE = "tags_on_create"  # answer: stick | refused | ignored
HDE_EXACT_SEARCH = "exact_search"  # answer: honoured | ignored | case_sensitive
HDE_DATE_UPDATE = "date_update_format"  # answer: a format name (tickets.loop_guard)
# RetailCRM (R-n).
RC_RIGHTS = "rights"  # missing: [right], unconfirmed: [right], confirmed: {right: how}
RC_SETTINGS = "settings_endpoint"  # answer: available | unavailable
RC_PHONE_FORMS = "phone_forms"  # answer: forms that found customers, best first
RC_ORDER_LIST_ORDER = "order_list_order"  # answer: newest_first | oldest_first
RC_HISTORY_PAGES = "history_pages"  # answer: normal | empty_pages
RC_EMAIL_CASE = "email_case"  # answer: insensitive | sensitive
# answer: customer_orders | part_of_them | ignored (R-9: filter[email] on orders)
RC_ORDER_EMAIL_FILTER = "order_email_filter"

# Answers.
TAGS_STICK, TAGS_REFUSED, TAGS_IGNORED = "stick", "refused", "ignored"
AVAILABLE, UNAVAILABLE = "available", "unavailable"
FILTER_CUSTOMER_ORDERS, FILTER_PART, FILTER_IGNORED = "customer_orders", "part_of_them", "ignored"

# The rights as a person names them (the scope codes are the API's words):
# the six the portal uses, then the scopes a key may carry that it does not
# need (the wizard's least-privilege advice names them). RetailCRM names its
# scopes `<area>_read` / `<area>_write`; five names are confirmed, the rest
# are the likely ones (docs/vendors/retailcrm.md §2).
RIGHT_NAMES = {
    "customer_read": gettext_lazy("reading customers"),
    "order_read": gettext_lazy("reading orders"),
    "reference_read": gettext_lazy("reading reference books"),
    "user_read": gettext_lazy("reading users"),
    "customer_write": gettext_lazy("editing customers"),
    "task_write": gettext_lazy("editing tasks"),
    "order_write": gettext_lazy("editing orders"),
    "reference_write": gettext_lazy("editing reference books"),
    "user_write": gettext_lazy("editing users"),
    "task_read": gettext_lazy("reading tasks"),
    "integration_read": gettext_lazy("reading integration modules"),
    "integration_write": gettext_lazy("editing integration modules"),
    "store_read": gettext_lazy("reading warehouses"),
    "store_write": gettext_lazy("editing warehouses"),
    "telephony_read": gettext_lazy("reading telephony"),
    "telephony_write": gettext_lazy("editing telephony"),
    "analytics_read": gettext_lazy("reading analytics"),
    "custom_fields_read": gettext_lazy("reading custom fields"),
    "custom_fields_write": gettext_lazy("editing custom fields"),
}


# A right listed under another spelling or split into finer ones (R-6:
# `customers_read`, `order_create`, `customer_notes_write`), worded from its
# parts: what it does to what. The things take the form the phrases need
# (Russian genitive: "чтение заказов").
RIGHT_THINGS = {
    "customer": pgettext_lazy("a right's object", "customers"),
    "customer_note": pgettext_lazy("a right's object", "customer notes"),
    "note": pgettext_lazy("a right's object", "notes"),
    "order": pgettext_lazy("a right's object", "orders"),
    "reference": pgettext_lazy("a right's object", "reference books"),
    "user": pgettext_lazy("a right's object", "users"),
    "task": pgettext_lazy("a right's object", "tasks"),
    "integration": pgettext_lazy("a right's object", "integration modules"),
    "store": pgettext_lazy("a right's object", "warehouses"),
    "telephony": pgettext_lazy("a right's object", "telephony"),
    "analytic": pgettext_lazy("a right's object", "analytics"),
    "custom_field": pgettext_lazy("a right's object", "custom fields"),
}
RIGHT_ACTIONS = {
    "read": gettext_lazy("reading %(things)s"),
    "write": gettext_lazy("editing %(things)s"),
    "edit": gettext_lazy("editing %(things)s"),
    "create": gettext_lazy("creating %(things)s"),
    "delete": gettext_lazy("deleting %(things)s"),
}


def right_name(scope: str) -> str:
    """A RetailCRM right as a person names it: from the table, else from
    its parts; a name neither explains keeps RetailCRM's own spelling,
    quoted (what else could name it)."""
    name = RIGHT_NAMES.get(scope)
    if name is not None:
        return str(name)
    from integration.vendors.retailcrm_parsing import right_tokens

    parts = right_tokens(scope) or ("",)
    things, action = RIGHT_THINGS.get("_".join(parts[:-1])), RIGHT_ACTIONS.get(parts[-1])
    if things is not None and action is not None:
        return str(action) % {"things": things}
    return gettext("“%(name)s”") % {"name": scope}


# The portal features behind each right it uses, in words (the wizard, the
# shop page and the health lines show them).
RIGHT_FEATURES = {
    "customer_read": gettext_lazy("find customers for tickets"),
    "order_read": gettext_lazy("show orders and poll order history"),
    "reference_read": gettext_lazy("show status names and sites"),
    "user_read": gettext_lazy("show the responsible manager"),
    "customer_write": gettext_lazy("create customers and notes from tickets"),
    "task_write": gettext_lazy("create tasks for managers"),
}


def _provider(connection) -> str:
    """The vendor of a connection row (the two connection models differ in
    their vendor-specific fields)."""
    return Provider.HELPDESKEDDY if hasattr(connection, "agent_email") else Provider.RETAILCRM


def fact_get(connection, name: str) -> dict | None:
    """The remembered answer's value, or None when nothing was learned under
    this connection's current identity."""
    if connection is None or connection.shop_id is None:
        return None
    row = (VendorFact.objects.filter(shop_id=connection.shop_id, provider=_provider(connection),
                                     name=name)
           .values("value", "identity").first())
    if row is None or row["identity"] != connection.identity:
        return None
    return row["value"] if isinstance(row["value"], dict) else None


def fact_answer(connection, name: str, default: str = "") -> str:
    value = fact_get(connection, name)
    return str((value or {}).get("answer") or default)


def fact_set(connection, name: str, answer: str = "", *, source: str = FactSource.RUNTIME,
             **details) -> dict:
    """Remember an answer (and details: ids, counts, shapes; never personal
    data) for the connection's current identity. Concurrent writers of one
    fact: the unique constraint picks one row, the last write wins."""
    value = {"answer": answer, **details} if answer else dict(details)
    fields = {"value": value, "identity": connection.identity, "source": source,
              "observed_at": timezone.now()}
    lookup = {"shop_id": connection.shop_id, "provider": _provider(connection), "name": name}
    try:
        with transaction.atomic():
            VendorFact.objects.update_or_create(**lookup, defaults=fields)
    except IntegrityError:  # created by a concurrent writer meanwhile
        VendorFact.objects.filter(**lookup).update(**fields)
    logger.info("vendor_facts.learned", extra={"shop": connection.shop_id, "fact": name,
                                               "answer": answer, "source": source})
    return value


def fact_forget(connection, name: str) -> None:
    VendorFact.objects.filter(shop_id=connection.shop_id, provider=_provider(connection),
                              name=name).delete()


def facts_of(shop) -> dict[tuple[str, str], dict]:
    """Every current fact of a shop: (provider, name) → value (stale ones,
    observed under another identity, left out)."""
    identities = {}
    for provider, attr in ((Provider.RETAILCRM, "retailcrm"),
                           (Provider.HELPDESKEDDY, "helpdeskeddy")):
        connection = getattr(shop, attr, None)
        if connection is not None:
            identities[provider] = connection.identity
    found = {}
    for row in VendorFact.objects.for_shop(shop).values("provider", "name", "value",
                                                         "identity", "source", "observed_at"):
        if identities.get(row["provider"]) == row["identity"]:
            found[row["provider"], row["name"]] = {**(row["value"] or {}),
                                                   "_source": row["source"],
                                                   "_at": row["observed_at"]}
    return found


# -- RetailCRM rights ------------------------------------------------------------
def rights_off(connection) -> list[str]:
    """Rights the key lacks (or that could not be confirmed) as the last
    connection test or probe saw them: each turns its features off. No test
    yet: nothing is off (the portal then finds out from the answers)."""
    value = fact_get(connection, RC_RIGHTS) or {}
    return sorted({*value.get("missing", []), *value.get("unconfirmed", [])})


def right_available(shop, right: str) -> bool:
    """Whether the feature behind `right` may run for this shop."""
    connection = getattr(shop, "retailcrm", None)
    if connection is None:
        return False
    return right not in rights_off(connection)


def features_off_text(rights) -> list[str]:
    """Each missing right as "the features it turns off", in words."""
    return [str(RIGHT_FEATURES[right]) for right in rights if right in RIGHT_FEATURES]


# -- what the lookups may consult -------------------------------------------------
PHONE_FORMS = ("national", "plus7", "eight", "seven")


def phone_forms(connection) -> list[str]:
    """The phone search forms (R-2) that found customers on this account,
    best first, as the probe settled them; the portal's default (ten
    national digits) when nothing was settled. For the phone lookup: try
    them in this order until one finds the customer."""
    value = fact_get(connection, RC_PHONE_FORMS) or {}
    forms = [f for f in value.get("forms") or [] if f in PHONE_FORMS]
    return forms or ["national"]


def phone_query(e164: str, form: str) -> str:
    """A Russian E.164 number (`+79161234567`) in one of the search forms."""
    ten = e164[-10:]
    return {"national": ten, "plus7": "+7" + ten, "eight": "8" + ten,
            "seven": "7" + ten}.get(form, ten)
