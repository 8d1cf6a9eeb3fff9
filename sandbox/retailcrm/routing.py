"""The emulator's route table and what a handler receives.

Handlers register with `@route(method, pattern, scope)`; the dispatcher in
`views.py` checks the scope (docs/vendors/retailcrm.md §2) before calling them with a `Call`.
Shared lookups live here too: entity by `{x}` with `by`/`site` (§3) and
nested `{"id"}`/`{"externalId"}` references.
"""

import re
from dataclasses import dataclass, field

from sandbox.retailcrm.models import Account, ApiKey
from sandbox.retailcrm.protocol import ApiProblem, not_found


@dataclass
class Call:
    request: object
    account: Account
    key: ApiKey
    query: dict = field(default_factory=dict)

    @property
    def filters(self) -> dict:
        return self.query.get("filter") or {}

    @property
    def sites(self) -> list[str]:
        return self.key.visible_sites()


ROUTES: list[tuple[str, re.Pattern, object, str | None]] = []


def route(method: str, pattern: str, scope: str | None):
    def register(handler):
        ROUTES.append((method, re.compile(f"^{pattern}$"), handler, scope))
        return handler
    return register


def find_entity(call, model, ident: str, *, by: str | None = None, site: str | None = None):
    """`{x}` is an externalId unless `by=id` (§3). With a multi-store key and
    an externalId the store is needed when the id is ambiguous."""
    by = by or call.query.get("by") or "externalId"
    site = site or call.query.get("site")
    rows = model.objects.filter(account=call.account, site__in=call.sites)
    if by == "id":
        if not str(ident).isdigit():
            raise not_found()
        rows = rows.filter(crm_id=int(ident))
    elif by == "externalId":
        rows = rows.filter(external_id=ident)
        if site:
            rows = rows.filter(site=site)
    else:
        raise ApiProblem(400, "Errors in the input parameters",
                         {"by": "The value you selected is not a valid choice."})
    found = list(rows[:2])
    if not found:
        raise not_found()
    if len(found) > 1:
        raise ApiProblem(400, "Parameter 'site' is missing")
    return found[0]


def resolve_ref(call, model, ref, site=None):
    """Resolve a nested `{"id": …}` / `{"externalId": …}` reference."""
    if not isinstance(ref, dict) or not (ref.get("id") or ref.get("externalId")):
        return None
    try:
        if ref.get("id"):
            return find_entity(call, model, str(ref["id"]), by="id")
        return find_entity(call, model, str(ref["externalId"]), by="externalId", site=site)
    except ApiProblem:
        return None
