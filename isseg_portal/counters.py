"""Where rate-limit counters live: the cache alias "ratelimit", which never evicts a live entry.

A cache may drop any key when it is full; a counter that disappears is a limit that no longer
holds. Django's database cache culls a third of its keys, in key order, whenever it holds more
than MAX_ENTRIES (300 by default): 320 password-reset requests from 320 addresses used to flush
allauth's counters of failed sign-ins, and a brute force went on. So every counter of the portal
lives in its own alias (settings.CACHES["ratelimit"]):

- without Redis, `CountersDatabaseCache`: the database cache in its own table, which deletes
  only expired entries, never a live one;
- with Redis, the same server (or RATELIMIT_CACHE_URL), which must never evict a key:
  `maxmemory-policy noeviction`. Web processes refuse to start when Redis says otherwise
  (`counters_startup_check`, called by isseg_portal/wsgi.py).

allauth keeps its counters (sign-in, password reset, the MFA code) and its TOTP reuse markers in
Django's default cache and has no setting to choose another; `allauth_counters_route` points the
two modules that use it at this alias (called from the app's ready()).
"""

import logging

from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.utils.connection import ConnectionProxy

COUNTERS = "ratelimit"
# Only this Redis policy keeps every key whatever the memory: the volatile-* policies evict keys
# with a timeout, which every counter has.
SAFE_REDIS_POLICY = "noeviction"
# The modules of allauth that use Django's default cache, all of them for counters or markers.
ALLAUTH_CACHE_USERS = (
    "allauth.core.internal.ratelimit",
    "allauth.mfa.totp.internal.auth",
)

logger = logging.getLogger(__name__)


class CountersDatabaseCache(DatabaseCache):
    """The database cache without culling: past MAX_ENTRIES it deletes the expired entries, as
    Django's does first, and stops there. The table holds as many live counters as there are;
    each has the timeout of its window, so it shrinks again once a flood is over."""

    def _cull(self, db, cursor, now, num):
        from django.db import connections

        connection = connections[db]
        table = connection.ops.quote_name(self._table)
        cursor.execute(
            # The table's name comes from the settings, quoted; the value is a parameter.
            f"DELETE FROM {table} WHERE {connection.ops.quote_name('expires')} < %s",  # noqa: S608
            [connection.ops.adapt_datetimefield_value(now)],
        )


def counters_cache():
    return caches[COUNTERS]


def allauth_counters_route() -> None:
    """Make allauth read and write its counters and markers in the counters' alias."""
    import importlib

    for name in ALLAUTH_CACHE_USERS:
        module = importlib.import_module(name)
        if not hasattr(module, "cache"):
            # A new allauth that keeps its counters some other way: fail at start, not silently.
            raise ImproperlyConfigured(
                f"{name} no longer has a module-level `cache`; check where allauth keeps its "
                "rate-limit counters (isseg_portal/counters.py)."
            )
        module.cache = ConnectionProxy(caches, COUNTERS)


def counters_eviction_problem() -> str | None:
    """What makes the counters' store evict live counters, or None. Asks Redis its policy (and
    may raise redis' errors: it cannot be reached, or it refuses CONFIG)."""
    store = counters_cache()
    if not isinstance(store, RedisCache):
        return None
    client = store._cache.get_client(write=True)
    policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
    if policy == SAFE_REDIS_POLICY:
        return None
    return (
        f"The Redis that keeps the rate-limit counters evicts keys (maxmemory-policy {policy}): "
        f"a full cache would reset the limits. Set maxmemory-policy {SAFE_REDIS_POLICY} on it, "
        "or give the counters their own Redis with RATELIMIT_CACHE_URL (README, Producción)."
    )


def counters_startup_check() -> None:
    """At the start of a web process: refuse to serve when the counters' Redis would evict
    them. A Redis that cannot be asked now is logged and the process starts (/salud/ reports the
    cache; a start must not depend on the order services come up in)."""
    from redis.exceptions import RedisError

    try:
        problem = counters_eviction_problem()
    except (RedisError, OSError) as error:
        logger.warning(
            "Could not ask the counters' Redis for its maxmemory-policy (%s: %s); it must be %s.",
            type(error).__name__,
            error,
            SAFE_REDIS_POLICY,
        )
        return
    if problem:
        logger.critical(problem)
        raise ImproperlyConfigured(problem)
