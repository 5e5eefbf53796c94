"""The staff's pages (STAFF_SECOND_FACTOR_URLS: the admin with Tesorería's files, the managers'
dashboard) ask staff for a second factor (STAFF_REQUIRE_MFA), and staff set one up only after
following an administrator's invitation (`isseg_portal.staff_second_factor`).

Staff log in to the admin through allauth's login (`secure_admin_login` in the URLs), which asks
for the TOTP code of anyone who has one. This middleware closes the rest: a staff member
without a TOTP authenticator is told to ask for an invitation, a session that was not
authenticated with it (opened before, or by another way in) must log in again, and allauth's
pages that set up an authenticator refuse staff without a followed invitation.

`NoStoreMiddleware`, below, keeps every page with personal data out of browsers' and proxies'
caches.
"""

from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control

from isseg_portal.staff_second_factor import (
    ENROLMENT_SESSION_KEY,
    enrolment_allowed,
    has_authenticator,
    second_factor_response,
)


class StaffSecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The path first: other pages never load the account for this.
        path = request.path
        refusal = None
        if path.startswith(_guarded_prefixes()):
            refusal = second_factor_response(request)
        elif path.startswith(reverse("mfa_index")) and not path.startswith(_mfa_login_prefixes()):
            refusal = self._enrolment_refusal(request)
        if refusal is not None:
            return refusal
        return self.get_response(request)

    @staticmethod
    def _enrolment_refusal(request):
        user = request.user
        if not user.is_authenticated:
            return None  # allauth's own views send the visitor to log in
        if has_authenticator(user):
            # Set up: the invitation's permission has served its purpose.
            request.session.pop(ENROLMENT_SESSION_KEY, None)
            return None
        if enrolment_allowed(request):
            return None
        return render(request, "isseg_portal/staff_second_factor.html", status=403)


def _guarded_prefixes() -> tuple[str, ...]:
    from django.conf import settings

    return tuple(reverse(name) for name in settings.STAFF_SECOND_FACTOR_URLS)


def _mfa_login_prefixes() -> tuple[str, ...]:
    # Entering the code at login and re-authenticating are not setting anything up.
    return (reverse("mfa_authenticate"), reverse("mfa_reauthenticate"))


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
