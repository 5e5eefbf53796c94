"""Ask for the password again before an action that binds someone: signing a contract, a staff
member's decision on an application, the treasury's payment and deduction files.

An authentication (the login, or allauth's "confirma tu contraseña" page) counts for
ACCOUNT_REAUTHENTICATION_TIMEOUT seconds (15 minutes). Past that, a page is suspended and the
person goes to allauth's reauthentication page, which brings them back to it (a suspended POST
is replayed); a JSON call of the signing page gets a 401 with a Spanish message that the page
shows, asking to reload it, before any file has been sent.
"""

import time
from functools import wraps

from allauth.account.authentication import get_authentication_records
from allauth.core.exceptions import ReauthenticationRequired
from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext as _


def recently_authenticated(request) -> bool:
    if not request.user.is_authenticated:
        return False
    records = get_authentication_records(request, request.user)
    if not records:
        return False
    last = max(record.get("at", 0) for record in records)
    return time.time() - last < settings.ACCOUNT_REAUTHENTICATION_TIMEOUT


def recent_authentication_required(view=None, *, json: bool = False):
    """For views behind login: pages raise allauth's ReauthenticationRequired (its middleware
    suspends the request and resumes it after the password); JSON views answer 401."""

    def decorator(view_func):
        @wraps(view_func)
        def guarded(request, *args, **kwargs):
            if request.user.is_authenticated and not recently_authenticated(request):
                if not json:
                    raise ReauthenticationRequired()
                return JsonResponse(
                    {
                        "error": "reauthentication_required",
                        "message": _(
                            "Por tu seguridad, confirma tu contraseña antes de firmar: vuelve a "
                            "cargar esta página y escríbela. Tus archivos no se enviaron."
                        ),
                    },
                    status=401,
                )
            return view_func(request, *args, **kwargs)

        return guarded

    return decorator(view) if view is not None else decorator
