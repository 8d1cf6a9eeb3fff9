"""The widget's doorway: signed links bound to one shop and ticket.

A link is `/<shop public_id>/<token>/`; the token is a Django-signed ticket
id, salted with the shop's `widget_link_salt`, so changing the salt revokes
every link of that shop at once, and a token of shop A never opens shop B.
"""

import secrets
import time
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core import signing
from django.http import Http404
from django.urls import reverse

from integration.models import Shop, ShopSettings


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


def widget_shop_get(public_id) -> Shop:
    """The active shop a widget URL names, or 404 (a deactivated shop's
    links go dark)."""
    shop = (Shop.objects.select_related("retailcrm", "helpdeskeddy")
            .filter(public_id=public_id, active=True).first())
    if shop is None:
        raise Http404("No such shop.")
    return shop


def widget_link_generation(shop) -> str:
    """Changes exactly when the shop's links are revoked: the ticket job
    keys "a fresh link was written into the ticket" by it."""
    return ShopSettings.of(shop).widget_link_salt


def widget_links_revoke(*, shop) -> None:
    """Every link of this shop stops working; new links use the new salt.
    What the old links' cards had in scope and the forms they handed out
    go too. The ticket job writes a fresh link into a ticket at its next
    event (integration.tickets.job)."""
    from integration.widget.scope import scope_forget_shop

    settings = ShopSettings.of(shop)
    settings.widget_link_salt = secrets.token_hex(8)
    settings.save(update_fields=["widget_link_salt"])
    scope_forget_shop(shop=shop)


def frame_ancestors(shop) -> list[str]:
    """Only the shop's HDE origin may frame its widget."""
    connection = getattr(shop, "helpdeskeddy", None)
    if connection is None:
        return ["'none'"]
    parts = urlsplit(connection.base_url)
    return [f"{parts.scheme}://{parts.netloc}"]
