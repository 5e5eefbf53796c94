"""The rate limits' counters live where nothing evicts them (isseg_portal/counters.py): a
database cache that never culls a live entry, or a Redis whose maxmemory-policy is noeviction,
which a web process checks when it starts."""

import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import redis
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured

from demo.pki.server import free_port
from isseg_portal.counters import (
    CountersDatabaseCache,
    counters_eviction_problem,
    counters_startup_check,
)
from tests.settings_probe import load_settings


@pytest.mark.django_db
def test_the_counters_database_cache_never_evicts_a_live_entry(settings):
    store = CountersDatabaseCache(
        settings.CACHES["ratelimit"]["LOCATION"], {"OPTIONS": {"MAX_ENTRIES": 10}}
    )
    store.clear()
    store.set("vencido", 1, timeout=-1)  # already expired

    for number in range(50):
        store.set(f"contador:{number:02d}", number, timeout=600)

    # Django's database cache would have culled a third of them at each write past 10; this one
    # keeps every live counter and deletes only the expired entry.
    assert [store.get(f"contador:{number:02d}") for number in range(50)] == list(range(50))
    assert not store.has_key("vencido")
    store.clear()


def test_without_redis_the_counters_have_a_database_table_of_their_own(settings):
    counters = settings.CACHES["ratelimit"]
    assert counters["BACKEND"] == "isseg_portal.counters.CountersDatabaseCache"
    assert counters["LOCATION"] != settings.CACHES["default"]["LOCATION"]
    assert settings.RATELIMIT_USE_CACHE == "ratelimit"


PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({alias: settings.CACHES[alias] for alias in ("default", "ratelimit")}))
"""


def test_with_redis_the_counters_use_it_under_their_own_prefix_or_their_own_server(tmp_path):
    same = json.loads(
        load_settings(tmp_path, PROBE, DJANGO_DEBUG="1", CACHE_URL="redis://cache:6379/0").stdout
    )
    assert same["ratelimit"]["LOCATION"] == "redis://cache:6379/0"
    assert same["ratelimit"]["KEY_PREFIX"] != same["default"]["KEY_PREFIX"]

    own = json.loads(
        load_settings(
            tmp_path,
            PROBE,
            DJANGO_DEBUG="1",
            CACHE_URL="redis://cache:6379/0",
            RATELIMIT_CACHE_URL="redis://limites:6379/0",
        ).stdout
    )
    assert own["ratelimit"]["LOCATION"] == "redis://limites:6379/0"
    assert own["default"]["LOCATION"] == "redis://cache:6379/0"


# --- The start-up check, against a real Redis -------------------------------------------------

needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="no redis-server on this machine"
)


@pytest.fixture
def redis_with_policy(tmp_path):
    """Start a throwaway redis-server with a given maxmemory-policy; its URL."""
    servers = []

    def start(policy: str) -> str:
        port = free_port()
        server = subprocess.Popen(  # noqa: S603 - a fixed command line
            [
                shutil.which("redis-server"),
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(tmp_path),
                "--maxmemory", "64mb",
                "--maxmemory-policy", policy,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        servers.append(server)
        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        return f"redis://127.0.0.1:{port}/0"

    yield start
    for server in servers:
        server.terminate()
        server.wait(10)


def counters_at(settings, url: str) -> None:
    settings.CACHES = {
        **settings.CACHES,
        "ratelimit": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url},
    }


@needs_redis_server
@pytest.mark.parametrize("policy", ["allkeys-lru", "volatile-ttl"])
def test_a_web_process_refuses_to_start_when_redis_may_evict_counters(
    settings, redis_with_policy, caplog, policy
):
    counters_at(settings, redis_with_policy(policy))

    with pytest.raises(ImproperlyConfigured, match=f"maxmemory-policy {policy}"):
        counters_startup_check()
    assert any(record.levelname == "CRITICAL" for record in caplog.records)


@needs_redis_server
def test_a_redis_with_noeviction_keeps_the_counters(settings, redis_with_policy):
    counters_at(settings, redis_with_policy("noeviction"))

    assert counters_eviction_problem() is None
    counters_startup_check()
    caches["ratelimit"].set("contador", 1)
    assert caches["ratelimit"].get("contador") == 1


def test_a_redis_that_does_not_answer_yet_does_not_stop_the_start(settings, caplog):
    counters_at(settings, f"redis://127.0.0.1:{free_port()}/0")

    counters_startup_check()

    assert "maxmemory-policy" in caplog.text
    assert any(record.levelname == "WARNING" for record in caplog.records)


@needs_redis_server
def test_the_wsgi_application_does_not_load_with_an_evicting_redis(tmp_path, redis_with_policy):
    url = redis_with_policy("allkeys-lru")

    result = load_settings(tmp_path, "import isseg_portal.wsgi", DJANGO_DEBUG="1", CACHE_URL=url)

    assert result.returncode != 0
    assert "maxmemory-policy allkeys-lru" in result.stderr


def test_the_readme_says_how_to_keep_redis_from_evicting_counters():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "maxmemory-policy noeviction" in readme
    assert "RATELIMIT_CACHE_URL" in readme
