"""One error tree for both vendors.

Jobs decide what to do from the class alone: `retryable` errors are retried
with backoff, `ApiUnauthorized` parks the work and flags the connection, the
rest are final for that request. Messages never contain credentials.

What a *person* is shown of an error is `people_text()`: a network failure
or a refusal by the outbound policy is one of a few fixed, translated words
(nothing the far side said reaches the screen: it may not be a vendor at
all); a vendor's own error text is shown only when its origin passed the
policy, and then cut short. `stored_text()` is the same in a form fit for a
database column (`last_error`), translated when shown (`shown_text()`).
"""

import re

from django.utils.translation import gettext, gettext_noop

UNREACHABLE = gettext_noop("unreachable")
TIMED_OUT = gettext_noop("timed out")
REFUSED_BY_POLICY = gettext_noop("refused by policy")
# The RetailCRM client's own words for a rate limit and a server error
# (integration.vendors.retailcrm.error_for_response): ours, not the vendor's,
# so a Russian card says them in Russian.
RATE_LIMITED = gettext_noop("RetailCRM rate limit exceeded (10 requests/second per account).")
SERVER_ERROR = gettext_noop("RetailCRM server error.")
# The portal's own pacing, never the vendor's words: a ban the vendor imposed
# (HDE: 20+ minutes above 300 requests a minute) and a request budget spent
# here. Said the same whichever vendor and whatever the clock says; the
# waiting is the portal's to do, so the words say it resumes by itself.
BANNED = gettext_noop("the vendor has blocked this account's API access for a while "
                      "(too many requests); the portal resumes by itself when it ends")
THROTTLED = gettext_noop("the portal is pacing its requests to stay within the vendor's "
                         "limit; it will try again shortly")
# An answer that is not the vendor's API speaking (an HTML page from a wrong
# URL or a proxy, a body cut short, broken JSON); the client's own sentence
# for it stays in the log.
UNEXPECTED_ANSWER = gettext_noop("the answer was not what the vendor's API sends (a web page, "
                                 "or data cut short)")
# The inbox's own words for a failure that is no vendor's (integration.
# inbox.events): a bug in a handler (its traceback goes to the log, never on
# a screen) and an event kind nothing handles.
INTERNAL_ERROR = gettext_noop("an error inside the portal; the details are in the portal's log")
NO_HANDLER = gettext_noop("the portal has nothing to do for this kind of event")
# A vendor's server failing and a vendor's rate limit, said the same for both
# vendors (HDE's own text for a 500 is whatever its server printed, in
# English): a clause to follow "<vendor> is unavailable right now: ".
SERVER_FAILED = gettext_noop("server error")
TOO_MANY_REQUESTS = gettext_noop("too many requests")
# RATE_LIMITED and SERVER_ERROR stay translatable: rows stored before these
# two words existed still carry them.
FIXED_WORDS = (UNREACHABLE, TIMED_OUT, REFUSED_BY_POLICY, RATE_LIMITED, SERVER_ERROR,
               BANNED, THROTTLED, UNEXPECTED_ANSWER, INTERNAL_ERROR, NO_HANDLER,
               SERVER_FAILED, TOO_MANY_REQUESTS)
# What the call log's outcomes say as fixed words, for a card whose deadline
# passed while the client was still retrying (integration.customers.assembly).
OUTCOME_WORDS = {"timeout": TIMED_OUT, "host_error": UNREACHABLE,
                 "refused_by_policy": REFUSED_BY_POLICY, "server_error": SERVER_FAILED,
                 "unexpected": UNEXPECTED_ANSWER, "rate_limited": TOO_MANY_REQUESTS,
                 "banned": BANNED, "throttled": THROTTLED}
VENDOR_TEXT_CHARS = 200

# Vendor messages known word for word, said in the reader's language: the
# vendor writes them in English whatever the account's language, and they
# are the ones a shop admin meets most (docs/vendors/retailcrm.md, errors).
# Any other vendor text is shown as it came: guessing at it would lose facts.
KNOWN_VENDOR_TEXT = {
    'Wrong "apiKey" value.': gettext_noop("the API key is wrong"),
    '"apiKey" is missing.': gettext_noop("the API key is missing"),
    "Access denied.": gettext_noop("this key has no access to that"),
    # RetailCRM's answer to an id it does not know (a customer, an order).
    "Not found": gettext_noop("not found"),
    # The clients' own words for a refusal that came without a text.
    "RetailCRM refused the request.": gettext_noop("RetailCRM refused the request"),
    "HelpDeskEddy refused the request.": gettext_noop("HelpDeskEddy refused the request"),
}
HTTP_SUFFIX = re.compile(r" \(HTTP \d{3}\)$")


class ApiError(Exception):
    retryable = False
    # True when a request was sent and its answer never came (a read
    # timeout): the vendor may still carry the write out seconds later, so a
    # non-idempotent write must not be repeated before that could land
    # (integration.core.side_effects holds its claim).
    outcome_unknown = False
    outcome = "error"

    def __init__(self, message: str, *, status_code: int | None = None, path: str = "",
                 provider: str = "", errors=None):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.path = path
        self.provider = provider
        self.errors = errors

    def __str__(self):
        where = f" [{self.provider} {self.path}]" if self.provider else ""
        code = f" (HTTP {self.status_code})" if self.status_code else ""
        return f"{self.message}{code}{where}"


class ApiHostError(ApiError):
    """The vendor host could not be reached (DNS, refused, reset)."""

    retryable = True
    outcome = "host_error"


class ApiTimeoutError(ApiHostError):
    outcome = "timeout"


class ApiServerError(ApiError):
    """5xx from the vendor: its problem, worth retrying later."""

    retryable = True
    outcome = "server_error"


class ApiUnauthorized(ApiError):
    """The key was refused. The connection needs a person, not a retry."""

    outcome = "unauthorized"


class ApiRefusedByPolicy(ApiUnauthorized):
    """The portal itself refused to send the request (integration.core.
    outbound_policy): an internal address, a plain-http URL in production, a
    redirect to another origin, or a stored key asked to go to an origin it
    was not entered for. Nothing was sent. Like a refused key it needs a
    person (fix the URL, enter the key again), so jobs park, not retry."""

    outcome = "refused_by_policy"

    def __init__(self, message: str, *, reason: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.reason = reason  # integration.core.outbound_policy's REDIRECT, ADDRESS, …


class ApiAccessDenied(ApiUnauthorized):
    """The key works but lacks a right (RetailCRM scope, HDE permission)."""

    outcome = "access_denied"


class ApiRateLimited(ApiError):
    retryable = True
    outcome = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ApiBanned(ApiRateLimited):
    """HDE banned the whole account; every call waits until `retry_after`."""

    outcome = "banned"


class ThrottleExhausted(ApiRateLimited):
    """Our own budget for the account is spent for longer than we may wait."""

    outcome = "throttled"


class ApiNotFound(ApiError):
    outcome = "not_found"


class ApiValidationError(ApiError):
    """The vendor rejected the input; `errors` keeps its field messages."""

    outcome = "validation"


class ApiUnexpectedResponse(ApiError):
    """Not the vendor's JSON: an HTML page from a wrong account URL, a
    truncated body, malformed JSON.

    Retryable: a body cut short or a proxy's error page is usually gone on the
    next attempt, and a job must not die on one; a wrong account URL keeps
    failing and ends dead after the inbox's attempts, with this message."""

    retryable = True
    outcome = "unexpected"


def stored_text(error: ApiError) -> str:
    """What `last_error` keeps: a fixed word (its msgid) for failures of the
    network or the policy, otherwise the vendor's text, cut short."""
    if isinstance(error, ApiRefusedByPolicy):
        return REFUSED_BY_POLICY
    if isinstance(error, ApiTimeoutError):
        return TIMED_OUT
    if isinstance(error, ApiHostError):
        return UNREACHABLE
    if isinstance(error, ApiBanned):
        return BANNED
    if isinstance(error, ThrottleExhausted):
        return THROTTLED
    if isinstance(error, ApiUnexpectedResponse):
        return UNEXPECTED_ANSWER
    if isinstance(error, ApiServerError):
        return SERVER_FAILED
    if isinstance(error, ApiRateLimited):
        return TOO_MANY_REQUESTS
    return shorten(error.message)


def stored_text_named(error: ApiError) -> str:
    """`stored_text` with the vendor named in front ("HelpDeskEddy: timed
    out") unless the text names it already: for records about a job that
    calls both vendors (an event's error, an attempt's)."""
    text = stored_text(error)
    name = PROVIDER_NAMES.get(error.provider, "")
    return f"{name}: {text}" if name and name.lower() not in text.lower() else text


def shown_text(stored: str) -> str:
    """A stored error text in the reader's language (fixed words translate,
    also after a vendor's name; a vendor's own words are shown as they
    came)."""
    name, colon, rest = stored.partition(": ")
    if colon and name in VENDOR_NAMES and (words := _translated(rest)):
        return f"{name}: {words}"
    return _translated(stored) or stored


def _translated(text: str) -> str:
    """A fixed word or a known vendor text in the reader's language; "" for
    anything else."""
    if text in FIXED_WORDS:
        return gettext(text)
    known = KNOWN_VENDOR_TEXT.get(HTTP_SUFFIX.sub("", text))
    return gettext(known) if known else ""


def people_text(error: ApiError) -> str:
    return shown_text(stored_text(error))


# How the clients name the vendor in front of its own text ("HelpDeskEddy:
# Not found"), and in their own words ("RetailCRM server error.").
VENDOR_NAMES = ("HelpDeskEddy", "RetailCRM")
PROVIDER_NAMES = {"helpdeskeddy": "HelpDeskEddy", "retailcrm": "RetailCRM"}


def vendor_detail(error: ApiError) -> str:
    """`people_text` for a sentence that already names the vendor
    ("HelpDeskEddy did not answer (%(err)s)"): the client's "HelpDeskEddy: "
    in front of the vendor's text is left out, so the name is never said
    twice ("HelpDeskEddy: HelpDeskEddy: …")."""
    return without_vendor_name(people_text(error))


def without_vendor_name(text: str) -> str:
    """A (shown or stored) error text without the client's "<vendor>: " in
    front."""
    for name in VENDOR_NAMES:
        if text.startswith(name + ":"):
            return text[len(name) + 1:].strip() or text
    return text


def vendor_said(error: ApiError, vendor: str) -> str:
    """`people_text` with the vendor named exactly once: as the client wrote
    it when its text names the vendor already, else "<vendor>: <text>"."""
    text = people_text(error)
    return text if vendor.lower() in text.lower() else f"{vendor}: {text}"


def clause(text: str) -> str:
    """An error text to go inside a sentence: without its closing full stop
    (a vendor's "Access denied." ends one of its own)."""
    return text.rstrip().rstrip(".")


def shorten(text: str, limit: int = VENDOR_TEXT_CHARS) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
