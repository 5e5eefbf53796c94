"""The staff's pages (STAFF_SECOND_FACTOR_URLS: the admin, the managers' dashboard) ask staff
for a second factor (STAFF_REQUIRE_MFA).

Staff log in to the admin through allauth's login (`secure_admin_login` in the URLs), which asks
for the TOTP code of anyone who has one. This middleware closes the rest: a staff member
without a TOTP authenticator is sent to set one up, and a session that was not authenticated
with it (opened before, or by another way in) must log in again.
"""

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _


class StaffSecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._guarded(request):
            user = request.user
            if not is_mfa_enabled(user, types=["totp"]):
                messages.warning(
                    request,
                    _(
                        "Para entrar a la administración necesitas un segundo factor: configura "
                        "tu aplicación de autenticación (TOTP)."
                    ),
                )
                return redirect("mfa_activate_totp")
            methods = {record.get("method") for record in get_authentication_records(request, user)}
            if "mfa" not in methods:
                logout(request)
                messages.info(
                    request,
                    _("Inicia sesión de nuevo con tu código de autenticación para continuar."),
                )
                return redirect(f"{reverse('account_login')}?next={request.path}")
        return self.get_response(request)

    @staticmethod
    def _guarded(request) -> bool:
        return (
            settings.STAFF_REQUIRE_MFA
            and request.path.startswith(
                tuple(reverse(name) for name in settings.STAFF_SECOND_FACTOR_URLS)
            )
            and request.user.is_authenticated
            and request.user.is_staff
        )
