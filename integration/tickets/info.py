"""What the portal knows about an HDE ticket before it acts: requester,
subject, department, channel. The ticket job reads it once per event; the
widget reads it through a short cache (HDE's request budget is shared by the
whole account)."""

import logging

from django.core.cache import cache
from django.utils.translation import gettext as _

from integration.customers.types import TicketInfo
from integration.models import TicketRecord
from integration.vendors.errors import ApiError, shown_text, stored_text, without_vendor_name

logger = logging.getLogger("integration.tickets")

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
    if not info.requester_error:  # a failed read is tried again on the next look
        cache.set(key, info.__dict__, TICKET_INFO_TTL)
    return info


def ticket_info_read(client, ticket, *, with_phone: bool) -> TicketInfo:
    """What the rules and the customer lookup need from an HDE ticket.

    The ticket carries the requester's e-mail; the phone lives in the user
    record, read when asked for or when the e-mail is a placeholder
    (`*.invalid`, HDE's phone-only contacts). When that read fails and the
    ticket's e-mail is real, the e-mail is enough to go on: the info says
    why the phone is missing (`requester_error`) instead of failing whole.
    Without a real e-mail the record is the only way to the requester, and
    its error is raised.
    """
    email = ticket.user_email or ""
    placeholder = email.rpartition("@")[2].endswith(".invalid")
    phone = requester_error = ""
    if ticket.user_id and (with_phone or not email or placeholder):
        try:
            user = client.get_user(ticket.user_id)
        except ApiError as error:
            if placeholder or not email:
                raise
            logger.info("tickets.requester_unread",
                        extra={"ticket": ticket.id, "error": str(error)})
            requester_error = stored_text(error)
        else:
            email, phone = user.real_email or "", user.phone or ""
    return TicketInfo(id=ticket.id, subject=ticket.title, department_id=ticket.department_id,
                      type_id=ticket.type_id, channel=ticket.source, status=ticket.status_id,
                      user_id=ticket.user_id, email="" if placeholder else email, phone=phone,
                      name=ticket.user_name or "",
                      created_at=ticket.date_created.isoformat() if ticket.date_created else "",
                      requester_error=requester_error)


def requester_notice(info: TicketInfo) -> str:
    """What the card and the API say when the requester's record was not
    read: in the reader's language, the vendor named once."""
    if not info.requester_error:
        return ""
    return _("HelpDeskEddy did not give the requester's details (%(err)s): the customer is "
             "looked up by the ticket's e-mail only.") % {
        "err": without_vendor_name(shown_text(info.requester_error))}


def ticket_record_customer_id(*, shop, ticket_id: int) -> int | None:
    return (TicketRecord.objects.for_shop(shop).filter(ticket_id=ticket_id)
            .values_list("customer_id", flat=True).first())
