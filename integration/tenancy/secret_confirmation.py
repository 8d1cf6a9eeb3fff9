"""Issue new secrets once per confirmation, however often it is posted.

Why: the page that shows new secrets is the answer to the POST that issued
them (they are shown only there, `tenancy/admin/shops.py` and the wizard's
webhooks step). A browser that sends that POST again (reload, back and
resubmit, a double click) used to issue a second set and so revoke the
secrets the admin had just pasted into HDE or RetailCRM; their webhooks
were then refused with nothing on screen to say why.

How: the form that asks carries a signed record of the newest secret of
each kind for each shop at the moment it was shown (`seen_token`; an HMAC of
the row, not its id). Posting
it issues only where that is still the newest secret, inside a transaction
that locks the shop row; where a newer one exists (this form was already
posted, or another admin issued since) nothing is issued and the page says
so. No nonce table: the secrets themselves are the record.

The record is signed with the project's key under a salt that names the
user, so a form taken from another admin, another tenant or a forged value
confirms nothing. It expires after MAX_AGE.
"""

from django.core import signing
from django.db import transaction
from django.utils.crypto import salted_hmac

from integration.models import Shop, ShopSecret
from integration.tenancy.secrets import shop_secret_issue

MAX_AGE = 60 * 60  # a confirmation page left open longer asks again
_SALT = "integration.secret-confirmation"


class ConfirmationExpired(Exception):
    """The form carried no valid, recent record of this user's: it asks again."""


def _revision(shop_pk: int, kind: str) -> str:
    """The newest secret of this kind ("" while there is none); revoked ones
    count, so a secret issued and then revoked still changes it. Opaque: the
    record is signed, not encrypted, and row ids are numbered across every
    agency, so a readable id would let a watcher count other tenants'
    secrets."""
    newest = (ShopSecret.objects.filter(shop_id=shop_pk, kind=kind).order_by("-pk")
              .values_list("pk", flat=True).first())
    if newest is None:
        return ""
    return salted_hmac(_SALT, str(newest)).hexdigest()[:20]


def seen_token(*, user, shops, kinds) -> str:
    """What the confirming form carries: each shop's newest secret of each
    kind, signed for this user."""
    seen = {str(shop.pk): [_revision(shop.pk, kind) for kind in kinds] for shop in shops}
    return signing.dumps({"kinds": list(kinds), "seen": seen}, salt=f"{_SALT}:{user.pk}",
                         compress=True)


def seen_read(token: str, *, user, kinds) -> dict[int, list[str]] | None:
    """The shops and revisions a form of this user carried, or None when the
    value is missing, forged, another user's, for other kinds or expired."""
    try:
        data = signing.loads(token or "", salt=f"{_SALT}:{user.pk}", max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("kinds") != list(kinds):
        return None
    return {int(pk): list(revisions) for pk, revisions in (data.get("seen") or {}).items()}


def secrets_issue_once(*, shop, kinds, seen: list[str], label: str = "",
                       issued_by=None) -> dict[str, str] | None:
    """New secrets of `kinds` for `shop` (the old ones revoked), or None when
    any of them changed since the form was shown: issued already."""
    with transaction.atomic():
        Shop.objects.select_for_update().filter(pk=shop.pk).first()
        if [_revision(shop.pk, kind) for kind in kinds] != list(seen):
            return None
        return {kind: shop_secret_issue(shop=shop, kind=kind, replace=True, label=label,
                                        issued_by=issued_by) for kind in kinds}
