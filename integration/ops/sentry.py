"""Optional error reports to Sentry (`SENTRY_DSN`), without personal data.

Why a scrubber of our own on top of `send_default_pii` off (the SDK's
default, kept: no user, cookies or client address are attached): the SDK
leaves out cookies, users and client addresses and blanks well-known field
names (password, api_key…), but the portal's personal data travels in
ordinary text: an exception message that names the sender's e-mail, a log
line with a phone number, a vendor URL with `filter[email]=…` in an HTTP
breadcrumb, the widget API's `?email=` query, a widget link (a credential)
in a path, an API key in a form post. So every event, transaction and
breadcrumb goes through `scrub` before it leaves the process:

- values under sensitive names (keys, secrets, tokens, passwords,
  authorization, cookies, e-mail, phone, name…) become `[Filtered]`;
- in every other text: e-mail addresses, phone numbers (10 to 15 digits,
  however written), bearer/basic credentials, `apiKey=` values, long random
  tokens (mixed letters and digits, 24+ characters) and widget-link tokens
  are replaced;
- request bodies keep their field names and numeric ids only (free text,
  a note or a name typed into a form, cannot be recognised); query
  strings keep their parameter names only; HTTP breadcrumbs lose their
  query; local variables are not sent at all
  (`include_local_variables=False`: a frame may hold a decrypted key).

Stack frames' file names, function names and source lines are code, not
data, and are left alone (a key-shaped word there would be a constant).

This module imports nothing of the portal's models: settings import it.
"""

import re

from integration.core.log_filters import redact as redact_widget_link

FILTERED = "[Filtered]"
SENSITIVE_NAME = re.compile(
    r"(?i)(pass(word)?|secret|token|api[_-]?key|apikey|auth|authorization|cookie|session|csrf|"
    r"credential|signature|dsn|e-?mail|phone|mobile|name|first_?name|last_?name|address|"
    r"x-webhook-secret|x-forwarded-for|remote_addr|ip_address)")
# Not filtered by name although they match a pattern above: structural
# fields of Sentry's own payload.
NAME_EXCEPTIONS = frozenset({"server_name", "filename", "url_name", "hostname"})
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
EMAIL_ENCODED = re.compile(r"[A-Za-z0-9._%+\-]+(%40|%2540)[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
PHONE_CANDIDATE = re.compile(r"(?<![\w.])\+?\(?\d[\d\s()\-]{7,}\d(?![\w.])")
DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")
CREDENTIALS = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]+")
KEY_PARAM = re.compile(r"(?i)((?:api_?key|key|token|secret|password)=)[^&\s\"']+")
LONG_TOKEN = re.compile(
    r"(?<![\w-])(?=[A-Za-z0-9_\-]*[0-9])(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{24,}(?![\w-])")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Parts of Sentry's payload that are code or SDK bookkeeping, never data.
CODE_FIELDS = frozenset({"filename", "abs_path", "function", "module", "package", "lineno",
                         "colno", "pre_context", "context_line", "post_context", "in_app",
                         "platform", "instruction_addr", "symbol"})
SKIPPED_SECTIONS = frozenset({"sdk", "modules", "contexts", "debug_meta", "event_id",
                              "timestamp", "start_timestamp", "release", "environment",
                              "server_name", "platform", "level", "logger", "type",
                              "measurements", "_meta"})


def _phone(match: re.Match) -> str:
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    if 10 <= digits <= 15 and not DATE_SHAPE.search(text):
        return "[phone]"
    return text


def _token(match: re.Match) -> str:
    text = match.group(0)
    return text if UUID.fullmatch(text) else "[key]"


def scrub_text(text: str) -> str:
    """A text with personal data and credentials replaced."""
    text = redact_widget_link(text)
    text = CREDENTIALS.sub(lambda m: f"{m.group(1)} {FILTERED}", text)
    text = KEY_PARAM.sub(rf"\1{FILTERED}", text)
    text = EMAIL_ENCODED.sub("[email]", text)
    text = EMAIL.sub("[email]", text)
    text = PHONE_CANDIDATE.sub(_phone, text)
    return LONG_TOKEN.sub(_token, text)


def _query_names_only(query) -> str:
    """`a=1&b=x@y` → `a=[Filtered]&b=[Filtered]`: what was asked, not of whom."""
    if isinstance(query, (list, tuple)):
        pairs = [p[0] if isinstance(p, (list, tuple)) and p else str(p) for p in query]
    else:
        pairs = [part.split("=", 1)[0] for part in str(query).split("&") if part]
    return "&".join(f"{scrub_text(str(name))}={FILTERED}" for name in pairs)


def _sensitive(key) -> bool:
    return (isinstance(key, str) and key not in NAME_EXCEPTIONS
            and bool(SENSITIVE_NAME.search(key)))


def scrub(value, key=None):
    """Scrub any part of an event (dicts and lists walked, texts cleaned)."""
    if _sensitive(key):
        return FILTERED
    if key in ("query_string", "http.query"):
        return _query_names_only(value) if value else value
    if key in ("cookies", "http.fragment"):
        return None
    if key == "vars":
        return None
    if isinstance(value, dict):
        return {k: (v if k in CODE_FIELDS else scrub(v, k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(item) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def _body(value):
    """A request body keeps its shape and its ids only: free text (a note,
    a customer's name typed into a form) cannot be told from anything else."""
    if isinstance(value, dict):
        return {k: (FILTERED if _sensitive(k) else _body(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_body(item) for item in value]
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    text = str(value)
    return text if (text.isdigit() and len(text) <= 18) or not text else FILTERED


def scrub_event(event, hint=None):
    """`before_send` / `before_send_transaction`: the event without
    personal data. Never drops an event (an error report is still wanted)."""
    if not isinstance(event, dict):
        return event
    cleaned = {k: (v if k in SKIPPED_SECTIONS else scrub(v, k)) for k, v in event.items()}
    request = event.get("request")
    if isinstance(request, dict) and "data" in request:
        cleaned["request"]["data"] = _body(request["data"])
    user = event.get("user")
    if isinstance(user, dict):  # only an opaque id may stay
        cleaned["user"] = {"id": str(user["id"])} if user.get("id") else {}
    return cleaned


def scrub_breadcrumb(crumb, hint=None):
    """`before_breadcrumb`: outgoing HTTP crumbs lose their query (vendor
    searches carry e-mails, phones and names); the rest is scrubbed."""
    if not isinstance(crumb, dict):
        return crumb
    data = crumb.get("data")
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k not in ("http.query", "http.fragment")}
        if isinstance(data.get("url"), str):
            data["url"] = data["url"].split("?", 1)[0]
        crumb = {**crumb, "data": data}
    return scrub(crumb)


def sentry_init(*, dsn: str, environment: str, release: str = "",
                traces_sample_rate: float = 0.0, transport=None) -> None:
    """Start the SDK for this process (settings call it when SENTRY_DSN is
    set; `transport` lets a test capture what would be sent)."""
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    options = {}
    if transport is not None:
        options["transport"] = transport
    # `send_default_pii` stays at its default, off: sentry-sdk 2.75 warns
    # about the option whenever it is passed (its successor,
    # `data_collection`, would also switch the SDK's own scrubber off).
    sentry_sdk.init(
        dsn=dsn,
        environment=environment or None,
        release=release or None,
        integrations=[DjangoIntegration()],
        include_local_variables=False,
        max_request_body_size="medium",
        traces_sample_rate=traces_sample_rate,
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        before_breadcrumb=scrub_breadcrumb,
        **options,
    )
