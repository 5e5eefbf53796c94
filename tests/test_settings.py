"""Settings come from the environment: each variable does what the README says.

Each case loads the settings module in a fresh interpreter with a given environment, the way a
server process would start.
"""

import json
import socket

import pytest

from tests.settings_probe import load_settings


def test_embedded_default_needs_no_other_service(tmp_path):
    # Given only DJANGO_DEBUG=1, when the settings load
    result = load_settings(tmp_path, DJANGO_DEBUG="1")

    # Then SQLite in the var dir, the database cache, console email, Mexican Spanish and time
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["debug"] is True
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["db_name"] == str(tmp_path / "portal.sqlite3")
    assert values["cache"] == "django.core.cache.backends.db.DatabaseCache"
    assert values["email"] == "django.core.mail.backends.console.EmailBackend"
    assert values["tz"] == "America/Mexico_City"
    assert values["lang"] == "es-mx"
    assert "localhost" in values["hosts"]
    # The development secret key is kept outside the repository, readable only by its owner.
    key_file = tmp_path / "secret_key"
    assert key_file.exists()
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_task_queue_uses_the_orm_broker_with_timeout_below_retry(tmp_path):
    values = json.loads(load_settings(tmp_path, DJANGO_DEBUG="1").stdout)

    assert values["q"]["orm"] == "default"
    assert values["q"]["timeout"] < values["q"]["retry"]
    assert 1 <= values["q"]["max_attempts"] <= 10
    assert values["q"]["recycle"] > 0


def test_production_without_secret_key_refuses_to_start(tmp_path):
    result = load_settings(tmp_path, DJANGO_ALLOWED_HOSTS="prestamos.example.gob.mx")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr
    assert not (tmp_path / "secret_key").exists()


def test_debug_is_off_unless_set_to_one(tmp_path):
    result = load_settings(
        tmp_path, DJANGO_DEBUG="0", DJANGO_SECRET_KEY="x" * 60, DJANGO_ALLOWED_HOSTS="a.example"
    )

    values = json.loads(result.stdout)
    assert values["debug"] is False
    assert values["hosts"] == ["a.example"]


def test_database_url_selects_postgresql(tmp_path):
    result = load_settings(
        tmp_path, DJANGO_DEBUG="1", DATABASE_URL="postgres://portal:pw@db.example:5432/portal"
    )

    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["db_name"] == "portal"


def test_database_url_selects_oracle_with_a_service_name(tmp_path):
    result = load_settings(
        tmp_path,
        DJANGO_DEBUG="1",
        DATABASE_URL="oracle://portal:pw@/oradb.example:1521%2FPORTALPDB",
    )

    values = json.loads(result.stdout)
    assert values["engine"] == "django.db.backends.oracle"
    assert values["db_name"] == "oradb.example:1521/PORTALPDB"


def test_portal_base_url_defaults_to_the_local_server_and_drops_a_trailing_slash(tmp_path):
    default = load_settings(tmp_path, DJANGO_DEBUG="1", PORTAL_BASE_URL="")
    given = load_settings(
        tmp_path, DJANGO_DEBUG="1", PORTAL_BASE_URL="https://prestamos.example.gob.mx/"
    )

    assert json.loads(default.stdout)["portal_base_url"] == "http://127.0.0.1:8000"
    assert json.loads(given.stdout)["portal_base_url"] == "https://prestamos.example.gob.mx"


def test_smtp_email_when_a_host_is_given(tmp_path):
    result = load_settings(tmp_path, DJANGO_DEBUG="1", EMAIL_HOST="smtp.example.gob.mx")

    assert json.loads(result.stdout)["email"] == "django.core.mail.backends.smtp.EmailBackend"


def test_unknown_cache_scheme_is_refused(tmp_path):
    result = load_settings(tmp_path, DJANGO_DEBUG="1", CACHE_URL="memcached://x:11211")

    assert result.returncode != 0
    assert "Unsupported CACHE_URL scheme: memcached" in result.stderr


def _redis_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), 1).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _redis_answers(), reason="no Redis on 127.0.0.1:6379")
def test_cache_url_selects_redis_and_it_works(tmp_path):
    result = load_settings(tmp_path, DJANGO_DEBUG="1", CACHE_URL="redis://127.0.0.1:6379/0")

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert values["cache_roundtrip"] == "ok"
