"""Connection tests: one cheap authenticated call per vendor, recorded on the
connection row (the client keeps its health) and reported to the admin.

Always on the saved rows: the admin action receives a queryset, so a URL
typed into a form and not saved (or refused) is never tested with the
stored key."""

from dataclasses import dataclass

from django.utils.translation import gettext

from integration.vendors.advice import error_advice
from integration.vendors.errors import ApiError


@dataclass
class ConnectionTestResult:
    provider: str
    ok: bool
    message: str
    # The key works, but something is off that a person should read (rights
    # that switch features off, settings that cannot be read).
    warning: bool = False

    @property
    def said(self) -> str:
        """The result in one message, the vendor named once ("RetailCRM:
        …", unless the advice begins with it)."""
        if self.message.startswith(self.provider):
            return self.message
        return f"{self.provider}: {self.message}"


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
            # What is wrong and what to change, in sentences, as the wizard
            # says it (vendors.advice): fixed words for the network and the
            # policy, a vendor's own text cut short, never ids, paths or
            # codes.
            results.append(ConnectionTestResult(label, False, error_advice(
                error, attr, worked_before=connection.last_success_at is not None)))
        else:
            # The key works. Missing rights switch their features off (the
            # rest works) and unreadable settings keep the shop's zone: a
            # warning that lists them, not a failure.
            warned = bool(getattr(client, "warnings", None))
            results.append(ConnectionTestResult(label, True, summary, warning=warned))
    return results
