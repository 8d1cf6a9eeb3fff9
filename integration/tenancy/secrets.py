"""Issue, verify and revoke per-shop secrets (webhook secrets, widget tokens).

Tokens are 32 random bytes (url-safe), stored as SHA-256. Verification hashes
the presented value and compares with `hmac.compare_digest` against every
active hash of that kind, so timing reveals nothing. Refused webhook attempts
are counted per shop, kind and client address (behind the proxy, the client's
own: `integration.core.client_address`); past the limit a wrong secret is
answered 429, while the right one is always accepted, so guessing never locks
the real sender out.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.utils import timezone

from integration.models import AuthFailure, SecretKind, Shop, ShopSecret

FAILURE_LIMIT = 20
FAILURE_WINDOW = timedelta(minutes=5)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def shop_secret_issue(*, shop, kind: str, label: str = "", replace: bool = False,
                      issued_by=None) -> str:
    """Create a secret and return its plaintext, the only time it exists.

    `replace` revokes the shop's other secrets of that kind (webhook secrets
    are one per shop; widget tokens may coexist, one per operator group).
    `issued_by` is the admin user, listed beside the token.
    """
    token = secrets.token_urlsafe(32)
    if replace:
        shop_secret_revoke_all(shop=shop, kind=kind)
    ShopSecret.objects.create(shop=shop, kind=kind, token_hash=_hash(token), hint=token[-4:],
                              label=label[:100], created_by=issued_by)
    return token


def shop_secrets_list(*, shop, kind: str):
    """A shop's secrets of one kind, newest first, with who issued them."""
    return ShopSecret.objects.for_shop(shop).filter(kind=kind).select_related("created_by")


def shop_secret_revoke(*, shop, kind: str, secret_id) -> ShopSecret | None:
    """Revoke one active secret of this shop; None when there is no such
    active secret (another shop's id answers the same)."""
    secret = (ShopSecret.objects.for_shop(shop)
              .filter(kind=kind, pk=secret_id, revoked_at__isnull=True).first())
    if secret is not None:
        ShopSecret.objects.filter(pk=secret.pk).update(revoked_at=timezone.now())
    return secret


def shop_secret_revoke_all(*, shop, kind: str) -> int:
    return ShopSecret.objects.filter(shop=shop, kind=kind, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def shop_secret_match(*, shop, kind: str, presented: str) -> ShopSecret | None:
    """The active secret equal to `presented`, or None."""
    if not presented:
        return None
    presented_hash = _hash(presented)
    match = None
    active = ShopSecret.objects.filter(shop=shop, kind=kind, revoked_at__isnull=True)
    for candidate in active:
        if hmac.compare_digest(candidate.token_hash, presented_hash):
            match = candidate
    if match is not None:
        _touch(match)
    return match


def _touch(secret: ShopSecret) -> None:
    """Record use at most once a minute: a webhook burst must not turn every
    accepted request into an extra write on the same row."""
    now = timezone.now()
    if secret.last_used_at is None or (now - secret.last_used_at).total_seconds() > 60:
        ShopSecret.objects.filter(pk=secret.pk).update(last_used_at=now)


def shop_secret_match_by_public_id(*, public_id, kind: str,
                                   presented: str) -> ShopSecret | None:
    """The active secret of an active shop that equals `presented`, with its
    shop, in one query: the webhook hot path (an accept is a handful of
    round-trips, so each one counts)."""
    if not presented:
        return None
    presented_hash = _hash(presented)
    match = None
    candidates = ShopSecret.objects.select_related("shop").filter(
        shop__public_id=public_id, shop__active=True, kind=kind, revoked_at__isnull=True)
    for candidate in candidates:
        if hmac.compare_digest(candidate.token_hash, presented_hash):
            match = candidate
    if match is not None:
        _touch(match)
    return match


def secret_lookup(*, kind: str, presented: str) -> ShopSecret | None:
    """Find the shop by a presented token alone (bearer tokens carry no shop)."""
    if not presented:
        return None
    secret = (
        ShopSecret.objects.select_related("shop")
        .filter(kind=kind, token_hash=_hash(presented), revoked_at__isnull=True)
        .first()
    )
    if secret is not None:
        _touch(secret)
    return secret


def widget_token_lookup(*, presented: str) -> ShopSecret | None:
    """The active widget token of an active shop equal to `presented`."""
    secret = secret_lookup(kind=SecretKind.WIDGET_TOKEN, presented=presented)
    if secret is None or not secret.shop.active:
        return None
    return secret


def is_widget_token(value) -> bool:
    return isinstance(value, ShopSecret) and value.kind == SecretKind.WIDGET_TOKEN


class WebhookSecretKind:
    """The secret kinds that open the webhook receivers (named through this
    service, so the receivers never import the models)."""

    HDE_WEBHOOK = SecretKind.HDE_WEBHOOK
    RETAILCRM_TRIGGER = SecretKind.RETAILCRM_TRIGGER


class WebhookRefusal:
    UNKNOWN_SHOP = "unknown_shop"
    THROTTLED = "throttled"
    REFUSED = "refused"


def webhook_refusal(*, public_id, kind: str, address: str, presented: str = "") -> str:
    """Why a webhook without a matching secret is refused: the shop is
    unknown (or inactive), or the attempt is counted per shop, kind and
    client address, and past the limit the answer is "throttled".

    An attempt that presented one of the shop's *replaced* secrets is also
    filed under the shop: a vendor still sending the old secret after a
    reissue, which the dashboard reports. Anything else (a guess, garbage)
    is not, so nobody holding only the shop's public id can raise that
    notice for someone else's shop."""
    shop_pk = Shop.objects.filter(public_id=public_id, active=True).values_list(
        "pk", flat=True).first()
    if shop_pk is None:
        return WebhookRefusal.UNKNOWN_SHOP
    failure_key = f"{kind}:{shop_pk}:{address[:64]}"
    if auth_failures_exceeded(failure_key):
        return WebhookRefusal.THROTTLED
    replaced = bool(presented) and ShopSecret.objects.filter(
        shop_id=shop_pk, kind=kind, token_hash=_hash(presented),
        revoked_at__isnull=False).exists()
    auth_failure_record(failure_key, shop_id=shop_pk if replaced else None)
    return WebhookRefusal.REFUSED


def auth_failures_exceeded(key: str) -> bool:
    since = timezone.now() - FAILURE_WINDOW
    return AuthFailure.objects.filter(key=key, created_at__gte=since).count() >= FAILURE_LIMIT


def auth_failure_record(key: str, shop_id: int | None = None) -> None:
    AuthFailure.objects.create(key=key, shop_id=shop_id)
