"""The settings loaded in a fresh interpreter with a given environment, the way a server process
would start: what they resolved to, as JSON on the probe's output."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import json, django
from django.conf import settings
django.setup()
from django.core.cache import cache
out = {
    "debug": settings.DEBUG,
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "cache": settings.CACHES["default"]["BACKEND"],
    "email": settings.EMAIL_BACKEND,
    "hosts": settings.ALLOWED_HOSTS,
    "tz": settings.TIME_ZONE,
    "lang": settings.LANGUAGE_CODE,
    "q": {k: settings.Q_CLUSTER[k] for k in ("orm", "timeout", "retry", "max_attempts", "recycle")},
    "portal_base_url": settings.PORTAL_BASE_URL,
}
if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
    cache.set("isseg-settings-probe", "ok", 10)
    out["cache_roundtrip"] = cache.get("isseg-settings-probe")
print(json.dumps(out))
"""


def load_settings(tmp_path, probe: str = PROBE, **env) -> subprocess.CompletedProcess:
    """Run `probe` with the portal's settings (not the tests'), an environment without the
    portal's own variables but `env`, and var/ under `tmp_path`."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "DATABASE_", "CACHE_", "EMAIL_", "Q_"))
    }
    environment.update(
        {"DJANGO_SETTINGS_MODULE": "isseg_portal.settings", "ISSEG_VAR_DIR": str(tmp_path)}
    )
    environment.update(env)
    return subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
