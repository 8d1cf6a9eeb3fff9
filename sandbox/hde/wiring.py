"""Point the HDE emulator's dispatcher at the portal, exactly as the README
tells a real HDE admin to (used by the demo seed and by tests; the product
never imports the sandbox)."""

from integration.onboarding.dispatcher_rules import BASIC_USERNAME, DISPATCHER_TEMPLATES
from sandbox.hde import dispatcher
from sandbox.hde.models import Account


def hde_dispatcher_wire(*, hde_account_code: str, webhook_url: str, secret: str) -> None:
    """Point the HDE emulator's dispatcher at the portal, exactly as the
    README tells a real HDE admin to: one rule per event, the secret as Basic
    credentials, a body with the event name and ids only."""
    account = Account.objects.get(code=hde_account_code)
    for event, template in DISPATCHER_TEMPLATES.items():
        dispatcher.add_webhook_rule(
            account, name=f"Portal: {event}", events=[event], url=webhook_url,
            template=template, username=BASIC_USERNAME, password=secret,
        )
