"""Extension tokens (issue, authenticate, revoke) and the one thing a token
buys: a short-lived signed widget link for a ticket of the agency's shops.

Tokens are 32 random bytes, stored as SHA-256 (a lookup by hash, so there is
nothing to time), shown once. A token opens only its agency's shops: the shop
is chosen by the HDE page's address among *that agency's* shops, so another
agency's HDE address is simply not found, exactly like an unknown one.
"""

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from integration.extension import conf
from integration.models import ExtensionToken, Shop, ShopSettings
from integration.tickets.info import ticket_info_get
from integration.vendors.errors import ApiError, ApiNotFound
from integration.widget.links import widget_link_build

TOUCH_EVERY_SECONDS = 60
DEFAULT_PORTS = {"http": 80, "https": 443}


class NoShop(Exception):
    """No shop of the token's agency uses this HDE address."""


class UnknownTicket(Exception):
    """The shop's HDE has no ticket with this id."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def extension_token_issue(*, agency, label: str, user=None,
                          instance: ExtensionToken | None = None) -> tuple[ExtensionToken, str]:
    """Create a token (into `instance`, when the admin's form made one) and
    return it with its plaintext, the only time the plaintext exists."""
    plaintext = secrets.token_urlsafe(32)
    token = instance or ExtensionToken()
    token.agency, token.label = agency, label.strip()[:100]
    token.token_hash, token.hint = _hash(plaintext), plaintext[-4:]
    token.created_by = user if user is not None and user.pk else None
    token.save()
    return token, plaintext


def extension_token_revoke(*, token: ExtensionToken, user=None) -> bool:
    """Revoke once; False when it already was (so the audit says it once)."""
    with transaction.atomic():
        changed = ExtensionToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=user if user and user.pk else None)
    token.refresh_from_db()
    return bool(changed)


def extension_token_authenticate(presented: str) -> ExtensionToken | None:
    """The active token equal to `presented`, with its agency, or None."""
    if not presented or len(presented) > 200:
        return None
    token = (ExtensionToken.objects.select_related("agency")
             .filter(token_hash=_hash(presented), revoked_at__isnull=True).first())
    if token is not None:
        now = timezone.now()
        # Record use at most once a minute: every ticket opened is a request.
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() \
                > TOUCH_EVERY_SECONDS:
            ExtensionToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token


def _site(url: str) -> tuple[str, str, int, str] | None:
    """(scheme, host, port, path prefix) of an address; None if not http(s)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme], parts.path.rstrip("/")


def _agency_shops(agency):
    return (Shop.objects.filter(agency=agency, active=True, helpdeskeddy__isnull=False)
            .select_related("helpdeskeddy").order_by("pk"))


def extension_sites(*, agency) -> list[dict]:
    """The HDE systems of the agency's active shops: where the panel appears.
    `url` is the system's address (origin plus a path prefix, if any)."""
    sites, seen = [], set()
    for shop in _agency_shops(agency):
        site = _site(shop.helpdeskeddy.base_url)
        if site is None or site in seen:
            continue
        seen.add(site)
        scheme, host, port, prefix = site
        netloc = host if port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
        if ":" in host:  # an IPv6 literal
            netloc = f"[{host}]" if port == DEFAULT_PORTS[scheme] else f"[{host}]:{port}"
        origin = f"{scheme}://{netloc}"
        sites.append({"origin": origin, "url": origin + prefix})
    return sites


def shop_for_page(*, agency, page_url: str) -> Shop:
    """The agency's shop whose HDE address the page is under (the longest
    path prefix wins; same scheme, host and port)."""
    page = _site(page_url)
    if page is None:
        raise NoShop
    best, best_length = None, -1
    for shop in _agency_shops(agency):
        site = _site(shop.helpdeskeddy.base_url)
        if site is None or site[:3] != page[:3]:
            continue
        prefix, path = site[3], page[3] + "/"
        if prefix and not path.startswith(prefix + "/"):
            continue
        if len(prefix) > best_length:
            best, best_length = shop, len(prefix)
    if best is None:
        raise NoShop
    return best


@dataclass(frozen=True)
class WidgetUrl:
    url: str
    expires_at: datetime
    shop: Shop
    ticket_id: int


def extension_widget_url(*, token: ExtensionToken, page_url: str, ticket_id: int) -> WidgetUrl:
    """A signed widget link for the ticket, valid for a shift (never longer
    than the shop's own link validity).

    The ticket is read through the shop's HDE connection first (cached; the
    widget page reads the same cache), so a ticket that does not exist is
    refused here rather than shown as an empty card. When HDE is unreachable
    the link is still given: the widget page says what is wrong.
    """
    shop = shop_for_page(agency=token.agency, page_url=page_url)
    try:
        ticket_info_get(shop=shop, ticket_id=ticket_id)
    except ApiNotFound as missing:
        raise UnknownTicket from missing
    except ApiError:
        pass
    lifetime = min(conf.link_hours() * 3600, ShopSettings.of(shop).widget_link_days * 86400)
    expires_at = int(time.time()) + lifetime
    return WidgetUrl(url=widget_link_build(shop=shop, ticket_id=ticket_id, expires_at=expires_at),
                     expires_at=datetime.fromtimestamp(expires_at, tz=UTC), shop=shop,
                     ticket_id=ticket_id)
