"""One RetailCRM customer per person who writes in, whoever creates it.

The ticket job (a sender RetailCRM did not know) and the card's "Create
customer" (an operator, from the page or the JSON API) both create customers
for people. Both go through here, so two tickets from one new sender, two
operators on two cards, or a job and an operator at once make one customer:

- the creation is a side effect keyed per shop and person (`sender_key`: the
  e-mail case-folded, else the phone as E.164, else the HDE user; hashed, so
  the key holds no address), which serialises creators across processes
  (integration.core.side_effects);
- whoever takes the key over, or comes after it, looks in RetailCRM first
  (`find_existing`): a customer that is already there is used, not doubled.
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from integration.core.side_effects import side_effect_once

# How long "this sender's customer is N" stands before the next creator looks
# in RetailCRM again (the customer may have been merged or deleted there).
SENDER_CUSTOMER_FRESH = timedelta(minutes=10)


@dataclass(frozen=True)
class SenderCustomer:
    id: int
    created: bool  # by this call (False: found, or made by another creator)


def sender_key(*, email: str = "", phone: str = "", hde_user_id=None) -> str:
    """The side-effect key of "this person's customer was created": one per
    shop and person. The identifier is normalised the way RetailCRM is
    searched and hashed. Empty when there is no identifier."""
    from integration.vendors.retailcrm_parsing import normalise_phone

    email = (email or "").strip().lower()
    phone = normalise_phone(phone or "")
    if email:
        identity = f"email:{email}"
    elif phone:
        identity = f"phone:{phone}"
    elif hde_user_id:
        identity = f"hde_user:{hde_user_id}"
    else:
        return ""
    kind = identity.partition(":")[0]
    digest = hashlib.sha256(identity.encode()).hexdigest()[:40]
    return f"sender:{kind}:{digest}:rcrm_customer"


def existing_customer_find(crm, *, email: str = "", phone: str = "") -> int | None:
    """The person's customer in RetailCRM, the oldest if twins exist."""
    found = crm.customers_by_email(email) if email else (
        crm.customers_by_phone(phone) if phone else [])
    return min((c.id for c in found), default=None)


def sender_customer_get_or_create(*, shop, crm, email: str = "", phone: str = "",
                                  first_name: str, last_name: str = "", site: str = "",
                                  hde_user_id=None, look_first: bool = False) -> SenderCustomer:
    """The person's customer: created at most once per person (see the
    module docstring). `look_first`: search RetailCRM before anything (an
    operator's form; the ticket job has just searched itself)."""
    if look_first:
        existing = existing_customer_find(crm, email=email, phone=phone)
        if existing is not None:
            return SenderCustomer(id=existing, created=False)
    created = []

    def create():
        created.append(True)
        return crm.create_customer(first_name=first_name, last_name=last_name, email=email,
                                   phone=phone, site=site)

    key = sender_key(email=email, phone=phone, hde_user_id=hde_user_id)
    if not key:  # a name only: nobody to be doubled by
        return SenderCustomer(id=int(create()), created=True)
    customer_id = side_effect_once(
        shop=shop, key=key, perform=create,
        find_existing=lambda: existing_customer_find(crm, email=email, phone=phone),
        fresh_for=SENDER_CUSTOMER_FRESH)
    return SenderCustomer(id=int(customer_id), created=bool(created))
