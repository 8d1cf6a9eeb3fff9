"""One error tree for both vendors.

Jobs decide what to do from the class alone: `retryable` errors are retried
with backoff, `ApiUnauthorized` parks the work and flags the connection, the
rest are final for that request. Messages never contain credentials.
"""


class ApiError(Exception):
    retryable = False
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
