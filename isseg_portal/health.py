"""`/salud/`: what a load balancer and the on-call person need to know about a node.

    GET /salud/  →  200 {"status": "ok" | "degraded", "checks": {...}}  or  503 {"status": "fail"}

- database: a query on the default database (its time in ms);
- cache: a value written and read back in the shared cache;
- tasks: the oldest task waiting in the django-q2 queue (ORM broker) and the time since a task
  last finished; a queue older than HEALTH_TASK_QUEUE_MAX_AGE, or no task finished within
  HEALTH_TASK_IDLE_MAX (the schedules run every few minutes), means no worker is taking them;
- tsa and ocsp: the time-stamping authority and the OCSP responder answer HTTP (any answer: a
  real time-stamp would cost one, and an empty OCSP request is enough to know it is there).

Without the database or the cache the node cannot serve: 503, and the load balancer takes it
out. Tasks, TSA or OCSP down make it "degraded" with 200: pages still work and signing says
clearly that it cannot be done now. The outside services are asked at most once every
HEALTH_EXTERNAL_TTL seconds per cluster (the answer is kept in the shared cache), so calling
this page cannot make the portal flood them. No detail that identifies a person or a document
is reported.
"""

import time
import uuid

import requests
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_q.models import OrmQ, Success

EXTERNAL_CACHE_KEY = "health:external"


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        result = check() or {}
        ok = result.pop("ok", True)
    except Exception as error:  # any failure is the answer
        result, ok = {"error": type(error).__name__}, False
    return {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1), **result}


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def _cache() -> dict:
    key, value = f"health:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, value, 30)
    ok = cache.get(key) == value
    cache.delete(key)
    return {"ok": ok}


def _tasks() -> dict:
    now = timezone.now()
    oldest = (
        OrmQ.objects.filter(key=settings.Q_CLUSTER["name"], lock__lte=now)
        .order_by("lock")
        .values_list("lock", flat=True)
        .first()
    )
    waiting = OrmQ.objects.filter(key=settings.Q_CLUSTER["name"]).count()
    last = Success.objects.order_by("-stopped").values_list("stopped", flat=True).first()
    oldest_age = (now - oldest).total_seconds() if oldest else 0.0
    idle = (now - last).total_seconds() if last else None
    max_age = settings.HEALTH_TASK_QUEUE_MAX_AGE
    idle_max = settings.HEALTH_TASK_IDLE_MAX
    return {
        "ok": oldest_age <= max_age and (idle is None or idle <= idle_max),
        "waiting": waiting,
        "oldest_waiting_seconds": round(oldest_age),
        "last_finished_seconds_ago": None if idle is None else round(idle),
    }


def _reachable(url: str, content_type: str) -> dict:
    response = requests.post(
        url,
        data=b"",
        headers={"Content-Type": content_type},
        timeout=settings.HEALTH_HTTP_TIMEOUT,
        allow_redirects=False,
    )
    return {"http_status": response.status_code}


def _external() -> dict:
    found = cache.get(EXTERNAL_CACHE_KEY)
    if found is None:
        found = {
            "tsa": _timed(
                lambda: _reachable(settings.SIGNATURES_TSA_URL, "application/timestamp-query")
            ),
            "ocsp": _timed(
                lambda: _reachable(settings.SIGNATURES_OCSP_URL, "application/ocsp-request")
            ),
        }
        cache.set(EXTERNAL_CACHE_KEY, found, settings.HEALTH_EXTERNAL_TTL)
    return found


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    checks = {"database": _timed(_database), "cache": _timed(_cache)}
    if checks["database"]["ok"]:
        checks["tasks"] = _timed(_tasks)
    if checks["cache"]["ok"]:
        checks.update(_external())
    if not (checks["database"]["ok"] and checks["cache"]["ok"]):
        status, code = "fail", 503
    elif all(check["ok"] for check in checks.values()):
        status, code = "ok", 200
    else:
        status, code = "degraded", 200
    return JsonResponse(
        {"status": status, "checked_at": timezone.now().isoformat(), "checks": checks},
        status=code,
    )
