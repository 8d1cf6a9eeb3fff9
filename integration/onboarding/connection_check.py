"""Connection tests: one cheap authenticated call per vendor, recorded on the
connection row (the client keeps its health) and reported to the admin."""

from dataclasses import dataclass

from django.utils.translation import gettext

from integration.vendors.errors import ApiError


@dataclass
class ConnectionTestResult:
    provider: str
    ok: bool
    message: str


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
            results.append(ConnectionTestResult(label, False, str(error)))
        else:
            # The key works but lacks rights some features need: say so as a
            # failure, the message lists what to add.
            ok = not getattr(client, "missing_rights", None)
            results.append(ConnectionTestResult(label, ok, summary))
    return results
