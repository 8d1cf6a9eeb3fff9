"""What the call log (`ApiCall.path`, the client's log lines, error texts)
may keep of a request URL: ids and codes, never personal data.

Why an allow-list: the customer searches put the sender's e-mail, phone or
name into the query (`customers?filter[email]=…`, `filter[name]=…`, HDE's
`search=…`), and the next search someone adds would too. So a query value
is kept only when its parameter is known to carry ids, codes, dates or
paging (`KEPT_PARAMS`, plus what each client adds); every other value
becomes a keyed hash, `#` and eight hex digits. The parameter name stays, so
a log still says *what* was searched, and the hash is stable, so two calls
for the same person can be matched while debugging, and an export for one
customer finds their calls (`token_for`) without the log holding the value.
Anything shaped like an e-mail is hashed wherever it appears, kept
parameters and path segments included. Secret parameters are blanked.

The hash is an HMAC keyed by the portal's SECRET_KEY: without the key, a
short hash of a phone number cannot be brute-forced from the log.
"""

import re
from urllib.parse import parse_qsl, unquote, urlencode

from django.utils.crypto import salted_hmac

SECRET_PARAMS = {"apikey", "api_key", "key", "token", "password", "secret"}
KEPT_PARAMS = frozenset({"limit", "page"})
# Ids, store codes, order numbers (identifiers from the ticket, not a person).
RETAILCRM_PARAMS = KEPT_PARAMS | {
    "by", "filter[ids][]", "filter[customerId]", "filter[customerIds][]", "filter[sinceId]",
    "filter[sites][]", "filter[numbers][]",
}
# Ids, codes, dates; `search` (e-mails, names) is hashed.
HDE_PARAMS = KEPT_PARAMS | {
    "exact_search", "order_by", "user_list", "owner_list", "status_list", "priority_list",
    "from_date_updated",
}
ALL_KEPT_PARAMS = RETAILCRM_PARAMS | HDE_PARAMS
EMAIL_SHAPE = re.compile(r"[^\s/?&=#@]+@[^\s/?&=#@]+")
TOKEN_SHAPE = re.compile(r"#[0-9a-f]{8}")


def token_for(value: str) -> str:
    """The stable stand-in for a personal value in the call log."""
    digest = salted_hmac("integration.call-log", str(value).strip().lower(),
                         algorithm="sha256").hexdigest()
    return f"#{digest[:8]}"


def _scrub_value(name: str, value: str, kept: frozenset[str]) -> str:
    if name.lower() in SECRET_PARAMS:
        return "[redacted]"
    if (name in kept and not EMAIL_SHAPE.search(value)) or TOKEN_SHAPE.fullmatch(value):
        return value  # kept, or already a token (scrubbing twice changes nothing)
    return token_for(value) if value else value


def scrub_url(url: str, kept: frozenset[str] = KEPT_PARAMS) -> tuple[str, list[str]]:
    """(path and query fit for the log, the personal values taken out).

    The values are returned so the caller can also take them out of an
    error text the vendor may have echoed them in."""
    # Split by hand, not with urlsplit: a stored path holds "#" tokens,
    # which urlsplit would take for a fragment (requests never sends one).
    raw_path, _, raw_query = url.partition("?")
    if "://" in raw_path:  # a full URL: keep the path only
        after = raw_path.split("://", 1)[1]
        raw_path = after[after.find("/"):] if "/" in after else "/"
    removed: list[str] = []
    segments = []
    for segment in raw_path.split("/"):
        plain = unquote(segment)
        if EMAIL_SHAPE.search(plain):
            removed.append(plain)
            segments.append(token_for(plain))
        else:
            segments.append(segment)
    query = []
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        shown = _scrub_value(name, value, kept)
        if shown != value and shown != "[redacted]":
            removed.append(value)
        query.append((name, shown))
    path = "/".join(segments)
    return path + (f"?{urlencode(query, safe='[]#')}" if query else ""), removed


def scrub_text(text: str, values: list[str]) -> str:
    """`text` with each personal value replaced by its token (longest first,
    so a value inside another is not left half-replaced)."""
    for value in sorted({v for v in values if v and len(v) >= 3}, key=len, reverse=True):
        text = re.sub(re.escape(value), token_for(value), text, flags=re.IGNORECASE)
    return text
