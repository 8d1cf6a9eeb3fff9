"""What one ticket's card may show, and the forms it may submit.

A widget link is the credential of whoever holds it (the operators, inside
HDE): it names one ticket and nothing else. So the customers a card may show
are decided here, from what the portal itself tied to that ticket, never
from the request:

- the customer the ticket's requester resolves to through the lookup chain
  (or, when several match, each of the candidates offered to choose from);
- a customer an operator found by searching from the card, inside the
  shop's store (`scope_search_remember`; the search itself is planned);
- a customer created from the card.

Any other id answers as if it were not there. Every action form of a page
carries a nonce issued with that page, bound to the ticket, the action and
the customer it acts on, spent by its first submission and refused when
unknown, used or older than NONCE_TTL; the customer an action touches is the
nonce's, not the form's.
"""

import hashlib
import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integration.customers.context import customer_site_allowed
from integration.models import ScopeReason, WidgetNonce, WidgetScope

NONCE_TTL = timedelta(hours=12)
# Who a card may act on through "choose": someone it offered as a choice.
CHOOSABLE = {ScopeReason.REQUESTER, ScopeReason.CANDIDATE, ScopeReason.SEARCH}


class FormRefused(Exception):
    """The submitted form was not issued by this card, or was used up."""


# -- customers in a card's scope ---------------------------------------------
def scope_add(*, shop, ticket_id: int, customer_ids, reason: str) -> None:
    for customer_id in {int(c) for c in customer_ids if c}:
        try:
            with transaction.atomic():
                WidgetScope.objects.create(shop=shop, ticket_id=ticket_id,
                                           customer_id=customer_id, reason=reason)
        except IntegrityError:
            pass  # already in scope; the first reason stands


def scope_reason(*, shop, ticket_id: int, customer_id: int) -> str | None:
    """Why this customer is in the ticket's scope, or None when it is not."""
    return (WidgetScope.objects.for_shop(shop)
            .filter(ticket_id=ticket_id, customer_id=customer_id)
            .values_list("reason", flat=True).first())


def scope_search_remember(*, shop, ticket_id: int, customers) -> list:
    """Remember an operator's search results for this ticket's card, so the
    card may open them; results outside the shop's store are dropped (the
    searches filter by store already; this holds whatever the search does).
    `customers` are objects with `id` and `site`; returns those kept."""
    kept = [c for c in customers if customer_site_allowed(shop=shop, site=c.site)]
    scope_add(shop=shop, ticket_id=ticket_id, customer_ids=[c.id for c in kept],
              reason=ScopeReason.SEARCH)
    return kept


def scope_expire(*, shop) -> int:
    """A scope outlives no link: rows older than the shop's link validity go
    (the requester's row comes back when the card is opened again)."""
    from integration.models import ShopSettings

    cutoff = timezone.now() - timedelta(days=ShopSettings.of(shop).widget_link_days)
    return WidgetScope.objects.for_shop(shop).filter(created_at__lt=cutoff).delete()[0]


def scope_forget_shop(*, shop) -> None:
    """Revocation: every card of the shop starts from its requester again,
    and no form handed out before is accepted."""
    WidgetScope.objects.for_shop(shop).delete()
    WidgetNonce.objects.for_shop(shop).delete()


# -- forms ---------------------------------------------------------------------
def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def form_nonce_issue(*, shop, ticket_id: int, action: str,
                     customer_id: int | None = None) -> str:
    value = secrets.token_urlsafe(24)
    WidgetNonce.objects.create(shop=shop, ticket_id=ticket_id, action=action,
                               customer_id=customer_id, value_hash=_hash(value))
    return value


def form_nonces_expire(*, shop) -> int:
    """Forms older than NONCE_TTL are refused anyway; drop their rows."""
    cutoff = timezone.now() - NONCE_TTL
    return WidgetNonce.objects.for_shop(shop).filter(created_at__lt=cutoff).delete()[0]


def form_nonce_spend(*, shop, ticket_id: int, action: str, value: str) -> int | None:
    """Spend a form's nonce; returns the customer the form acts on.

    Raises FormRefused when this card never issued it for this action, when
    it was spent already (a double submit does nothing twice) or expired."""
    if not value:
        raise FormRefused(_("This form is not from this card. Reload the card and try again."))
    nonce = (WidgetNonce.objects.for_shop(shop)
             .filter(ticket_id=ticket_id, action=action, value_hash=_hash(value[:100]))
             .first())
    if nonce is None:
        raise FormRefused(_("This form is not from this card. Reload the card and try again."))
    now = timezone.now()
    if nonce.created_at < now - NONCE_TTL:
        raise FormRefused(_("This form has expired. Reload the card and try again."))
    spent = WidgetNonce.objects.filter(pk=nonce.pk, used_at__isnull=True).update(used_at=now)
    if not spent:
        raise FormRefused(_("This form was sent already; nothing was done twice."))
    return nonce.customer_id
