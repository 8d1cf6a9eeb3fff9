"""Find and drop a shop's entries in the shared cache.

Why backend-specific code: Django's cache API has no "keys with this prefix"
(`delete_pattern` is django-redis only), yet erasing a shop or exporting a
customer must reach the cached contexts. The three backends the portal runs
on are covered: the database cache (a LIKE on its table), Django's built-in
RedisCache (SCAN, never KEYS, so a large cache is not blocked) and LocMemCache
(tests). Keys are the service's own (integration.customers.context and
.widget); account-wide reference books (statuses, managers) are not
personal data and are left to their TTL.
"""

import logging

from django.core.cache import cache, caches
from django.db import connections, router

logger = logging.getLogger("integration.shop_cache")

# Every cache key the services write per shop starts with one of these
# followed by "<shop id>:".
SHOP_KEY_PREFIXES = ("ctx", "ctxver", "ctxlookup", "ctxstale", "ticketinfo")


def shop_prefixes(shop_id: int) -> list[str]:
    return [f"{prefix}:{shop_id}:" for prefix in SHOP_KEY_PREFIXES]


def _unmake(made: str) -> str:
    """Django's default key function is `prefix:version:key`."""
    return made.split(":", 2)[2] if made.count(":") >= 2 else made


def cache_keys(prefix: str) -> list[str]:
    """Keys (as the services name them) that start with `prefix`."""
    store = caches["default"]  # `cache` is a proxy; the backend class decides
    made_prefix = store.make_key(prefix)
    backend = type(store).__name__
    if backend == "DatabaseCache":
        db = router.db_for_read(store.cache_model_class)
        connection = connections[db]
        table = connection.ops.quote_name(store._table)
        like = made_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT cache_key FROM {table} WHERE cache_key LIKE %s ESCAPE '\\'",
                           [like])
            made = [row[0] for row in cursor.fetchall()]
    elif backend == "RedisCache":
        client = store._cache.get_client(made_prefix, write=False)
        made = [k.decode() if isinstance(k, bytes) else k
                for k in client.scan_iter(match=_glob_escape(made_prefix) + "*", count=500)]
    elif backend == "LocMemCache":
        made = list(store._cache.keys())
    else:
        logger.warning("shop_cache.unsupported_backend", extra={"backend": backend})
        return []
    return [_unmake(k) for k in made if k.startswith(made_prefix)]


def _glob_escape(text: str) -> str:
    return "".join(f"\\{c}" if c in "*?[]\\" else c for c in text)


def shop_cache_keys(shop_id: int) -> list[str]:
    return [key for prefix in shop_prefixes(shop_id) for key in cache_keys(prefix)]


def shop_cache_erase(*, shop_id: int) -> int:
    keys = shop_cache_keys(shop_id)
    if keys:
        cache.delete_many(keys)
    return len(keys)
