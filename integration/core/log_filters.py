"""Logging filter: widget links are credentials, so their tokens never
reach a log.

Why: a widget link (`/widget/<shop>/<signed token>/`) opens a customer's
card to whoever holds it. Django logs the path of every 4xx/5xx answer
("Not Found: /widget/…", "Forbidden: …") and attaches the request to the
record, so a refused or stale link would otherwise be written out whole to
log files and error trackers. The filter rewrites the message arguments and
hands handlers a request whose path and repr are redacted; everything else
on the request stays as it was.
"""

import logging
import re

TOKEN_IN_PATH = re.compile(r"(/widget/[^/\s'\"]+/)[^/\s'\"]+")
REDACTED = r"\1[redacted]"


def redact(text: str) -> str:
    return TOKEN_IN_PATH.sub(REDACTED, text)


class _RedactedRequest:
    """The request as handlers see it: same attributes, redacted path."""

    def __init__(self, request):
        self._request = request
        self.path = redact(request.path)
        self.path_info = redact(getattr(request, "path_info", request.path))

    def get_full_path(self, *args, **kwargs):
        return redact(self._request.get_full_path(*args, **kwargs))

    def build_absolute_uri(self, *args, **kwargs):
        return redact(self._request.build_absolute_uri(*args, **kwargs))

    def __getattr__(self, name):
        return getattr(self._request, name)

    def __repr__(self):
        return redact(repr(self._request))


class RedactWidgetTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        request = getattr(record, "request", None)
        if request is not None and hasattr(request, "path") and not isinstance(
                request, _RedactedRequest):
            record.request = _RedactedRequest(request)
        return True
