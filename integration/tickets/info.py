"""What the portal knows about an HDE ticket before it acts: requester,
subject, department, channel. The ticket job reads it once per event; the
widget reads it through a short cache (HDE's request budget is shared by the
whole account)."""

from django.core.cache import cache

from integration.customers.types import TicketInfo
from integration.models import TicketRecord

TICKET_INFO_TTL = 600


def ticket_info_get(*, shop, ticket_id: int, interactive: bool = True,
                    request_id: str = "") -> TicketInfo:
    """Requester, subject and department of an HDE ticket (two HDE calls,
    cached for ten minutes: HDE's request budget is shared by the account)."""
    from integration.vendors.helpdeskeddy import HelpDeskEddyClient

    key = f"ticketinfo:{shop.pk}:{ticket_id}"
    cached = cache.get(key)
    if cached is not None:
        return TicketInfo(**cached)
    client = HelpDeskEddyClient.for_connection(shop.helpdeskeddy, interactive=interactive,
                                               request_id=request_id)
    # The operator may need the phone (lookup fallback, the create form), so
    # the requester's record is read too; the result is cached.
    info = ticket_info_read(client, client.get_ticket(ticket_id), with_phone=True)
    cache.set(key, info.__dict__, TICKET_INFO_TTL)
    return info


def ticket_info_read(client, ticket, *, with_phone: bool) -> TicketInfo:
    """What the rules and the customer lookup need from an HDE ticket.

    The ticket carries the requester's e-mail; the phone lives in the user
    record, read when asked for or when the e-mail is a placeholder
    (`*.invalid`, HDE's phone-only contacts).
    """
    email = ticket.user_email or ""
    placeholder = email.rpartition("@")[2].endswith(".invalid")
    phone = ""
    if ticket.user_id and (with_phone or not email or placeholder):
        user = client.get_user(ticket.user_id)
        email, phone = user.real_email or "", user.phone or ""
    return TicketInfo(id=ticket.id, subject=ticket.title, department_id=ticket.department_id,
                      type_id=ticket.type_id, channel=ticket.source, status=ticket.status_id,
                      user_id=ticket.user_id, email="" if placeholder else email, phone=phone,
                      name=ticket.user_name or "",
                      created_at=ticket.date_created.isoformat() if ticket.date_created else "")


def ticket_record_customer_id(*, shop, ticket_id: int) -> int | None:
    return (TicketRecord.objects.for_shop(shop).filter(ticket_id=ticket_id)
            .values_list("customer_id", flat=True).first())
