"""Connection tests: one cheap authenticated call per vendor, recorded on the
connection row (the client keeps its health) and reported to the admin.

Always on the saved rows: the admin action receives a queryset, so a URL
typed into a form and not saved (or refused) is never tested with the
stored key."""

from dataclasses import dataclass

from django.utils.translation import gettext

from integration.vendors.errors import ApiError, people_text


@dataclass
class ConnectionTestResult:
    provider: str
    ok: bool
    message: str
    # The key works, but something is off that a person should read (rights
    # that switch features off, settings that cannot be read).
    warning: bool = False


def shop_connections_test(*, shop) -> list[ConnectionTestResult]:
    from integration.vendors.helpdeskeddy import HelpDeskEddyClient
    from integration.vendors.retailcrm import RetailCrmClient

    results = []
    for attr, client_class, label in (
        ("retailcrm", RetailCrmClient, "RetailCRM"),
        ("helpdeskeddy", HelpDeskEddyClient, "HelpDeskEddy"),
    ):
        connection = getattr(shop, attr, None)
        if connection is None:
            results.append(ConnectionTestResult(label, False, gettext("not configured")))
            continue
        try:
            client = client_class.for_connection(connection, interactive=True)
            summary = client.test_connection()
        except ApiError as error:
            # People see fixed words for the network and the policy, and a
            # vendor's own text cut short ("Ключ отозван."), never ids, paths
            # or codes; the wizard adds what to change (vendors.advice).
            results.append(ConnectionTestResult(label, False, people_text(error)))
        else:
            # The key works. Missing rights switch their features off (the
            # rest works) and unreadable settings keep the shop's zone: a
            # warning that lists them, not a failure.
            warned = bool(getattr(client, "warnings", None))
            results.append(ConnectionTestResult(label, True, summary, warning=warned))
    return results
