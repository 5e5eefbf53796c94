"""A signed-in session ends after a while without requests, and some hours after the login.

SESSION_IDLE_SECONDS (30 minutes) without a request, or SESSION_ABSOLUTE_SECONDS (8 hours)
after the login however busy the session was: the person is signed out and asked to sign in
again, and told why. What they saved is kept (drafts are saved step by step); a request that
arrives after the limit is not carried out. The signing page's JSON calls get a 401 with the
same explanation instead of a login page.

The last request's time is written at most once a minute, so a busy session does not write
the session row on every request.
"""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

STARTED_KEY = "isseg_session_started"
SEEN_KEY = "isseg_session_seen"
# Seconds between two writes of the last request's time.
SEEN_RESOLUTION = 60


def session_mark_login(request) -> None:
    """Start the clocks; called on every login (signals in isseg_portal.apps)."""
    now = int(time.time())
    request.session[STARTED_KEY] = now
    request.session[SEEN_KEY] = now


class SessionTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            ended = self._ended(request)
            if ended:
                return self._sign_out(request, ended)
        return self.get_response(request)

    @staticmethod
    def _ended(request) -> str:
        now = int(time.time())
        session = request.session
        started = session.get(STARTED_KEY)
        seen = session.get(SEEN_KEY)
        if started is None or seen is None:
            # A session from before these clocks existed: they start now.
            session[STARTED_KEY] = started or now
            session[SEEN_KEY] = now
            return ""
        if now - started > settings.SESSION_ABSOLUTE_SECONDS:
            hours = settings.SESSION_ABSOLUTE_SECONDS // 3600
            return _(
                "Tu sesión terminó porque pasaron %(hours)s horas desde que iniciaste sesión. "
                "Inicia sesión de nuevo; lo que guardaste sigue ahí."
            ) % {"hours": hours}
        if now - seen > settings.SESSION_IDLE_SECONDS:
            minutes = settings.SESSION_IDLE_SECONDS // 60
            return _(
                "Tu sesión se cerró tras %(minutes)s minutos sin actividad, para proteger tus "
                "datos. Inicia sesión de nuevo; lo que guardaste sigue ahí."
            ) % {"minutes": minutes}
        if now - seen >= SEEN_RESOLUTION:
            session[SEEN_KEY] = now
        return ""

    @staticmethod
    def _sign_out(request, reason: str):
        logout(request)
        if "application/json" in request.headers.get("Accept", ""):
            return JsonResponse({"error": "session_expired", "message": reason}, status=401)
        messages.info(request, reason)
        next_url = request.get_full_path() if request.method == "GET" else "/"
        return redirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")
