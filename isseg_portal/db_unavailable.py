"""A database that stops answering in the middle of a request is a 503, not a bare 500.

When the connection to the database drops (the server restarts, a failover, a backend
terminated by an administrator), the request's transaction is rolled back by the database, so
nothing was half written; the person only has to try again. This middleware turns the
`OperationalError` or `InterfaceError` that reaches the view layer into a Spanish page (or the
JSON error the signing API speaks, for clients that ask for JSON) with status 503 saying so.

It also drops the broken connection right away, as Django does at the end of every request
(`close_old_connections`, with `conn_health_checks`): the page and the next request open a new
one.
"""

import logging

from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from isseg_portal.context_processors import institute

logger = logging.getLogger(__name__)

TEMPLATE = "503_db.html"
RETRY_AFTER_SECONDS = 30


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning(
            "Base de datos no disponible en %s %s: %s",
            request.method,
            # The URL pattern, not the path (which holds folios and tokens).
            getattr(request.resolver_match, "route", "-"),
            exception,
        )
        _drop_broken_connections()
        if _wants_json(request):
            response = JsonResponse(
                {"error": "service_unavailable", "message": message()}, status=503
            )
        else:
            response = HttpResponse(_page(request), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response


def message() -> str:
    return _(
        "El servicio no está disponible en este momento. Intenta de nuevo en unos minutos: "
        "no se perdió nada de lo que ya habías guardado."
    )


def _drop_broken_connections() -> None:
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _page(request: HttpRequest) -> str:
    try:
        # The whole page, with the header of whoever is logged in; this queries the database
        # again (the session, the survey banner) on a new connection.
        return render(request, TEMPLATE, {"message": message()}).content.decode()
    except DatabaseError:
        # The database is down, not only this connection: the page without the request's
        # context (no context processors, so no queries).
        _drop_broken_connections()
        return render_to_string(TEMPLATE, {"message": message(), **institute(request)})
