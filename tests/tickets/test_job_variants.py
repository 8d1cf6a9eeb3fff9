"""The whole ticket flow under every answer either emulator can give to an
open vendor question (docs/vendors/open-questions.md), one switch at a time.

Why: each answer is one a real account may give; the portal must work under
all of them, not only under the one the emulators played before the switches
existed. A new ticket from a known customer with an order in delivery must
end with the priority, the mapped fields and the card link in HDE, one
internal comment, and the portal's own change echo recognised without a call.
"""

import pytest

from integration.models import ApiCall, EventState, InboundEvent, TicketRecord
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from sandbox.hde import seed as hde_fields
from sandbox.hde.behaviour import BOARD as HDE_BOARD
from sandbox.hde.behaviour import set_behaviour as hde_behaviour
from sandbox.retailcrm.behaviour import BOARD as RC_BOARD
from sandbox.retailcrm.behaviour import set_behaviour as rc_behaviour
from tests.fixtures_portal import URGENT, pump_dispatcher

VARIANTS = [
    ("hde", name, value) for name, switch in HDE_BOARD.switches.items()
    for value in switch.choices[1:]
] + [
    ("retailcrm", name, value) for name, switch in RC_BOARD.switches.items()
    for value in switch.choices[1:]
]


@pytest.mark.parametrize("vendor, switch, value", VARIANTS,
                         ids=[f"{v}-{s}-{x}" for v, s, x in VARIANTS])
def test_the_ticket_flow_under_every_variant(wired_shop, vendor, switch, value):
    (hde_behaviour if vendor == "hde" else rc_behaviour)("demo", **{switch: value})
    hde = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy)
    ticket = hde.create_ticket(title="Когда привезут заказ?", description="Здравствуйте!",
                               user_email="ivan.petrov@example.ru")
    pump_dispatcher()

    event = InboundEvent.objects.get(shop=wired_shop, source_key=f"new_ticket:{ticket.id}")
    assert event.state == EventState.DONE, event.last_error
    after = hde.get_ticket(ticket.id)
    record = TicketRecord.objects.get(shop=wired_shop, ticket_id=ticket.id)
    # The rule's name is in the shop's language (Russian here).
    assert after.priority_id == URGENT and record.priority_rule == "Заказ в доставке"
    assert after.custom_fields[hde_fields.CRM_CARD]
    assert str(after.custom_fields[hde_fields.CUSTOMER_ID]) == str(record.customer_id)
    assert len(hde.list_comments(ticket.id)) == 1
    changed = InboundEvent.objects.filter(shop=wired_shop, event_type="ticket_changed")
    assert changed.exists()
    assert all(e.state == EventState.DONE for e in changed)
    assert not ApiCall.objects.filter(event__in=changed, provider="helpdeskeddy").exists()
