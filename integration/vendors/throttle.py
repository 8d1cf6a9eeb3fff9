"""A sliding-window rate limiter shared by every process that talks to one
vendor account through one key (the key is `BaseClient.account_key_for`:
provider, host and the connection's identity, never the host alone).

Why a sliding log rather than a fixed window: a fixed per-second or per-minute
counter lets twice the limit through around a window boundary, and a vendor
that counts any 60 seconds would then ban the account. The log admits at most
`limit` requests in *any* window of `window` seconds, while still letting a
widget fire its parallel requests at once.

Atomicity: the database backend locks the account's `RateLimitState` row
(`SELECT ... FOR UPDATE` on PostgreSQL; SQLite's IMMEDIATE transactions
serialise writers) so two workers can never both take the last slot. With
REDIS_URL set, a Lua script does the same on a sorted set.

Interactive calls (an operator waiting on the widget) may use the whole
budget; background calls stop `interactive_reserve` short of it, so a job
backlog never starves an operator.
"""

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from integration.core.db_waits import pooled_connections_release
from integration.models import RateLimitState
from integration.ops import metrics
from integration.vendors.errors import ApiBanned, ThrottleExhausted


@dataclass(frozen=True)
class Budget:
    limit: int
    window: float
    interactive_reserve: int

    def cap(self, interactive: bool) -> int:
        return self.limit if interactive else max(1, self.limit - self.interactive_reserve)


def _state_row(key: str) -> RateLimitState:
    try:
        return RateLimitState.objects.select_for_update().get(key=key)
    except RateLimitState.DoesNotExist:
        try:
            with transaction.atomic():
                RateLimitState.objects.create(key=key, hits=[])
        except IntegrityError:
            pass
        return RateLimitState.objects.select_for_update().get(key=key)


def _take_db(key: str, budget: Budget, interactive: bool,
             count: int = 1) -> tuple[float, float]:
    """Take `count` slots: (0, the grant's logged time) on success, else
    (the seconds to wait before retrying, 0)."""
    with transaction.atomic():
        state = _state_row(key)
        # The clock is read only once the row lock is held: a timestamp taken
        # before waiting for the lock would be older than the grant it
        # records, so that hit would leave the window early and let one
        # request too many through.
        now = time.time()
        if state.banned_until and state.banned_until > timezone.now():
            metrics.throttle_refused(key, "banned")
            raise ApiBanned(
                f"The vendor banned this account's API access until "
                f"{state.banned_until:%H:%M:%S} UTC.",
                retry_after=(state.banned_until - timezone.now()).total_seconds(),
            )
        hits = sorted(t for t in (state.hits or []) if t > now - budget.window)
        if len(hits) + count <= budget.cap(interactive):
            hits.extend([now] * count)
            state.hits = hits
            state.save(update_fields=["hits", "updated_at"])
            return 0.0, now
        # Wait until enough old hits leave the window to make room.
        excess = len(hits) + count - 1 - budget.cap(interactive)
        return max(0.005, hits[excess] + budget.window - now), 0.0


# The script reads Redis's own clock: it is the same for every worker on every
# machine, and it is read while the script holds Redis, so a grant is logged
# at the moment it is made (a client-side timestamp is late by a round trip
# and skewed between hosts). Redis >= 5 replicates effects, so TIME before
# writes is allowed; older servers need replicate_commands() first.
_LUA_TAKE = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local key, window, cap = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local wanted = tonumber(ARGV[4] or '1')
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count + wanted <= cap then
  for i = 1, wanted do
    redis.call('ZADD', key, now, ARGV[3] .. ':' .. i)
  end
  redis.call('EXPIRE', key, math.ceil(window) + 1)
  return 'granted ' .. string.format('%.6f', now)
end
local first = count + wanted - 1 - cap
if first < 0 then first = 0 end
local oldest = redis.call('ZRANGE', key, first, first, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
"""


@lru_cache(maxsize=1)
def _redis():
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    return client, client.register_script(_LUA_TAKE)


def _take_redis(key: str, budget: Budget, interactive: bool,
                count: int = 1) -> tuple[float, float]:
    state = RateLimitState.objects.filter(key=key, banned_until__gt=timezone.now()).first()
    if state:
        metrics.throttle_refused(key, "banned")
        raise ApiBanned(
            f"The vendor banned this account's API access until "
            f"{state.banned_until:%H:%M:%S} UTC.",
            retry_after=(state.banned_until - timezone.now()).total_seconds(),
        )
    _, script = _redis()
    answer = script(
        keys=[f"ratelimit:{key}"],
        args=[budget.window, budget.cap(interactive), uuid.uuid4().hex, count],
    )
    answer = answer.decode() if isinstance(answer, bytes) else str(answer)
    if answer.startswith("granted "):
        return 0.0, float(answer.split()[1])
    return max(0.005, float(answer)), 0.0


def acquire(key: str, budget: Budget, *, interactive: bool,
            max_wait: float | None = None, count: int = 1) -> float:
    """Block until a request to `key` may be sent, or raise. Returns the
    grant's time as the throttle logged it under its lock (epoch seconds; on
    Redis, Redis's clock): what the window is judged on, so a test checks
    the guarantee on the record itself, not on when this call returned.

    `count`: slots for requests about to leave together (a round-trip's
    parallel requests), taken in one step: one transaction instead of one
    per request, and never more than the budget (a count above the cap is
    cut to it).

    Raises `ApiBanned` at once while the vendor bans the account (waiting 20
    minutes inside a job or a page is never right), and `ThrottleExhausted`
    when the wait would exceed `max_wait`; both are retryable for jobs.
    """
    if max_wait is None:
        max_wait = settings.INTEGRATION["THROTTLE_MAX_WAIT"]
    take = _take_redis if settings.REDIS_URL else _take_db
    count = max(1, min(count, budget.cap(interactive)))
    deadline = time.monotonic() + max_wait
    while True:
        wait, granted_at = take(key, budget, interactive, count)
        if wait <= 0:
            return granted_at
        if time.monotonic() + wait > deadline:
            metrics.throttle_refused(key, "exhausted")
            raise ThrottleExhausted(
                f"The request budget for this account is spent; next slot in {wait:.1f}s.",
                retry_after=wait,
            )
        metrics.throttle_waited(key, wait, interactive=interactive)
        pooled_connections_release()  # not held while waiting (core.db_waits)
        time.sleep(wait)


def record_ban(key: str, seconds: float) -> None:
    """Remember a vendor ban so every process stops calling the account."""
    until = timezone.now() + timedelta(seconds=seconds)
    metrics.ban_recorded(key)
    with transaction.atomic():
        state = _state_row(key)
        state.banned_until = until
        state.save(update_fields=["banned_until", "updated_at"])


def record_remaining(key: str, remaining: int) -> None:
    """Keep the vendor's last `X-Rate-Limit-Remaining` for the account.

    The row may not exist yet: with REDIS_URL set, `acquire` never writes it
    (only a ban does), so an update alone would drop every reading there.
    """
    now = timezone.now()
    if RateLimitState.objects.filter(key=key).update(remaining=remaining, remaining_at=now):
        return
    try:
        with transaction.atomic():
            RateLimitState.objects.create(key=key, hits=[], remaining=remaining, remaining_at=now)
    except IntegrityError:  # another process created it meanwhile
        RateLimitState.objects.filter(key=key).update(remaining=remaining, remaining_at=now)


def low_remaining_wait(key: str, *, threshold: int, window: float) -> float:
    """Seconds a background call should wait because the vendor said few
    requests are left in its current window (another client may be using
    the account too); 0 when there is headroom."""
    state = RateLimitState.objects.filter(key=key).only("remaining", "remaining_at").first()
    if not state or state.remaining is None or state.remaining_at is None:
        return 0.0
    age = (timezone.now() - state.remaining_at).total_seconds()
    if state.remaining > threshold or age >= window:
        return 0.0
    return window - age
