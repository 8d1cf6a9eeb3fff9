"""An order number in a ticket is not proof of who wrote it.

Why (adversarial pass): a stranger who typed someone else's order number in
the subject got the order owner's card — profile, address in the reply
templates, "fits" badges — and the ticket job wrote a note and a task into
the owner's RetailCRM profile. An order number alone now only *offers* its
owner to the operator, when the sender's own e-mail or phone found nobody;
it is still enough when the ticket carries nothing else (the API without an
e-mail), and the sender's own identifiers always win.
"""

import requests

from integration.models import EventState, InboundEvent, TicketRecord
from integration.vendors.helpdeskeddy import HelpDeskEddyClient
from sandbox.retailcrm.models import Note, Order, Task
from tests.fixtures_portal import pump_dispatcher


def _owner_and_number(rc_people):
    order = (Order.objects.filter(account__code="demo", customer_crm_id=rc_people["vip"])
             .order_by("-created_at").first())
    return rc_people["vip"], order.number


def test_a_stranger_naming_an_order_gets_the_chooser_not_the_profile(live_server, demo_shop,
                                                                      rc_people):
    owner, number = _owner_and_number(rc_people)
    body = requests.get(f"{live_server.url}/api/v1/context", timeout=15,
                        params={"email": "stranger@unknown.example", "order_number": number},
                        headers={"Authorization": f"Bearer {demo_shop.widget_token}"}).json()
    assert body["status"] == "several" and body["customer"] is None
    assert [c["id"] for c in body["candidates"]] == [owner]
    assert "sender's e-mail or phone is not theirs" in body["notice"]
    assert body["orders"] == []


def test_the_job_writes_nothing_into_the_order_owners_profile(wired_shop, rc_people):
    owner, number = _owner_and_number(rc_people)
    notes = Note.objects.filter(customer_crm_id=owner).count()
    tasks = Task.objects.count()
    hde = HelpDeskEddyClient.for_connection(wired_shop.helpdeskeddy)
    ticket = hde.create_ticket(title=f"Заказ {number} не пришёл", description="Где заказ?",
                               user_email="stranger@unknown.example")
    pump_dispatcher()
    event = InboundEvent.objects.get(shop=wired_shop, source_key=f"new_ticket:{ticket.id}")
    assert event.state == EventState.DONE, event.last_error
    assert TicketRecord.objects.get(shop=wired_shop, ticket_id=ticket.id).customer_id != owner
    assert Note.objects.filter(customer_crm_id=owner).count() == notes
    assert Task.objects.count() == tasks


def test_the_card_links_only_its_customers_own_orders(live_server, demo_shop, settings,
                                                      rc_people):
    """"Link an order" pins a number that steers later lookups: another
    customer's order, or any string, is refused; the card's own is pinned."""
    import re

    from integration.widget.links import widget_link_build

    settings.PORTAL_BASE_URL = live_server.url
    demo_shop.language = "en"
    demo_shop.save(update_fields=["language"])
    _owner, foreign_number = _owner_and_number(rc_people)
    url = widget_link_build(shop=demo_shop, ticket_id=3)  # Ivan's ticket

    def link(number):
        page = requests.get(url, timeout=10).text
        block = page.split('name="action" value="link_order"')[1].split("</form>")[0]
        form = {**dict(re.findall(r'name="(\w+)" value="([^"]*)"', block)),
                "action": "link_order", "order_number": number}
        return requests.post(url, data=form, timeout=10).text

    for number in (foreign_number, "<b>1</b>"):
        assert "is not one of this customer" in link(number)
    assert TicketRecord.objects.filter(shop=demo_shop, ticket_id=3,
                                       order_number=foreign_number).count() == 0
    own = (Order.objects.filter(account__code="demo", customer_crm_id=rc_people["delivery"])
           .order_by("-created_at").first().number)
    assert "Order linked to this ticket" in link(own)
    assert TicketRecord.objects.get(shop=demo_shop, ticket_id=3).order_number == own
