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
from django.utils.cache import add_never_cache_headers, patch_cache_control
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


# Pages an anonymous visitor may keep (in the browser or a proxy): they hold nothing about
# anyone. Every other response of the portal's views is `no-store` (static files are served by
# WhiteNoise before this middleware and keep their long cache).
PUBLIC_CACHEABLE_PAGES = frozenset(
    {
        "home",
        "privacy_notice",
        "privacy_notice_full",
        "loans:simulator",
        "signatures:verify",
    }
)


class NoStoreMiddleware:
    """`Cache-Control: no-store` (with `private`, `Pragma: no-cache` for old proxies) on every
    page with personal data: every response to a logged-in person (the header says who they
    are), the admin, the documents, the public verification of a contract. Offices share
    computers: the next person must not find the previous one's pages in the browser's cache
    or history. A new page is `no-store` unless it is added to `PUBLIC_CACHEABLE_PAGES`."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if self._cacheable(request):
            return response
        if "no-store" not in response.get("Cache-Control", ""):
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
        response["Pragma"] = "no-cache"
        return response

    @staticmethod
    def _cacheable(request) -> bool:
        match = getattr(request, "resolver_match", None)
        if request.method not in ("GET", "HEAD") or match is None:
            return False
        if match.view_name not in PUBLIC_CACHEABLE_PAGES:
            return False
        # Read last, and only for the public pages: the user is looked up in the session.
        user = getattr(request, "user", None)
        return not (user is not None and user.is_authenticated)
