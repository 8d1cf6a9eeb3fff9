"""The RetailCRM emulator's answers to the vendor's open questions.

Reference: docs/vendors/retailcrm.md §19 (open questions), with the section
of each question beside its switch. The first choice is the default and is
what the emulator did before the switch existed. `sandbox/retailcrm/
README.md` describes every value; `sandbox.behaviour` explains the idea.
"""

from sandbox.behaviour import Switch, Switchboard, store

BOARD = Switchboard("RetailCRM", [
    Switch("order_list_order", ("newest_first", "oldest_first", "id_asc"),
           "Default sort of GET /orders (§11.1: not documented)."),
    Switch("phone_match", ("digits_substring", "whole_number", "prefix"),
           "How filter[name] matches a phone (§8.1)."),
    Switch("email_case", ("insensitive", "sensitive"),
           "Whether filter[email] ignores letter case (§8.1)."),
    Switch("email_match", ("substring", "exact"),
           "Whether filter[email] matches part of the address or all of it (§8.1)."),
    Switch("order_email_filter", ("order_email", "customer_email", "either", "ignored"),
           "What filter[email] on GET /orders matches: the order's own e-mail, its "
           "customer's, either, or nothing (the filter ignored) (§11.1, R-9)."),
    Switch("history_pages", ("normal", "empty_pages"),
           "Whether history pages may come back empty while more pages follow (§12)."),
    Switch("credentials_rights", ("standard", "renamed_or_split"),
           "Names of the rights GET /api/credentials lists (§2)."),
    Switch("settings_endpoint", ("available", "forbidden", "failing"),
           "Whether GET /api/v5/settings answers (§7)."),
    Switch("order_customer", ("full", "partial"),
           "How much of the customer an order embeds (§11.3)."),
    Switch("auth_error_status", ("403", "401"),
           "HTTP status of a missing or wrong API key (§2, §19)."),
    Switch("payments_shape", ("object", "list"),
           "Order payments as an object keyed by id or as a list (§7, §11.3)."),
    Switch("extended_status_groups", ("accepted", "ignored"),
           "Whether filter[extendedStatus][] also takes status-group codes (§11.1)."),
])


def validate_behaviour(values) -> None:
    """Validator of `Account.behaviour` (a module function, so migrations
    can name it)."""
    BOARD.field_validator(values)


def set_behaviour(account, *, reset: bool = False, **switches) -> dict:
    """Set switches of an emulator account (an `Account` or its code):
    `set_behaviour("demo", order_list_order="oldest_first")`. Returns every
    switch's effective value; `reset=True` first returns all to defaults."""
    from sandbox.retailcrm.models import Account

    if isinstance(account, str):
        account = Account.objects.get(code=account)
    return store(BOARD, account, switches, reset=reset)
