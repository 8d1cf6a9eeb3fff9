"""The widget's doorway: signed links bound to one shop and ticket, and what
the page needs to know about that ticket.

A link is `/<shop public_id>/<token>/`; the token is a Django-signed ticket
id, salted with the shop's `widget_link_salt`, so changing the salt revokes
every link of that shop at once, and a token of shop A never opens shop B.
"""

import secrets
import time
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core import signing
from django.core.cache import cache
from django.urls import reverse

from integration.models import ShopSettings, TicketLedger
from integration.services.context_types import TicketInfo

TICKET_INFO_TTL = 600


class WidgetLinkInvalid(Exception):
    """Tampered, expired, revoked or for another shop."""


def _salt(shop, settings: ShopSettings) -> str:
    return f"integration.widget:{shop.public_id}:{settings.widget_link_salt}"


def widget_link_build(*, shop, ticket_id: int, expires_at: int | None = None) -> str:
    """`expires_at` (Unix seconds) shortens a link below the shop's validity:
    the browser extension's links live for a shift, not for weeks."""
    settings = ShopSettings.of(shop)
    payload = {"t": int(ticket_id)} | ({"x": int(expires_at)} if expires_at else {})
    token = signing.dumps(payload, salt=_salt(shop, settings), compress=True)
    path = reverse("widget-page", args=[shop.public_id, token])
    return django_settings.PORTAL_BASE_URL + path


def widget_link_verify(*, shop, token: str) -> int:
    settings = ShopSettings.of(shop)
    try:
        data = signing.loads(token, salt=_salt(shop, settings),
                             max_age=settings.widget_link_days * 86400)
    except signing.SignatureExpired as exc:
        raise WidgetLinkInvalid("expired") from exc
    except signing.BadSignature as exc:
        raise WidgetLinkInvalid("bad signature") from exc
    try:
        ticket_id, expires_at = int(data["t"]), int(data.get("x") or 0)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise WidgetLinkInvalid("malformed") from exc
    if expires_at and time.time() > expires_at:
        raise WidgetLinkInvalid("expired")
    return ticket_id


def widget_links_revoke(*, shop) -> None:
    """Every link of this shop stops working; new links use the new salt."""
    settings = ShopSettings.of(shop)
    settings.widget_link_salt = secrets.token_hex(8)
    settings.save(update_fields=["widget_link_salt"])


def frame_ancestors(shop) -> list[str]:
    """Only the shop's HDE origin may frame its widget."""
    connection = getattr(shop, "helpdeskeddy", None)
    if connection is None:
        return ["'none'"]
    parts = urlsplit(connection.base_url)
    return [f"{parts.scheme}://{parts.netloc}"]


def ticket_info_get(*, shop, ticket_id: int, interactive: bool = True,
                    request_id: str = "") -> TicketInfo:
    """Requester, subject and department of an HDE ticket (two HDE calls,
    cached for ten minutes: HDE's request budget is shared by the account)."""
    from integration.clients.helpdeskeddy import HelpDeskEddyClient

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
                      user_id=ticket.user_id, email="" if placeholder else email, phone=phone)


def ledger_customer_id(*, shop, ticket_id: int) -> int | None:
    return (TicketLedger.objects.for_shop(shop).filter(ticket_id=ticket_id)
            .values_list("customer_id", flat=True).first())
