"""The staff's pages (STAFF_SECOND_FACTOR_URLS: the admin with Tesorería's files, the managers'
dashboard) ask staff for a second factor (STAFF_REQUIRE_MFA), and staff set one up only after
following an administrator's invitation (`isseg_portal.staff_second_factor`).

Staff log in to the admin through allauth's login (`secure_admin_login` in the URLs), which asks
for the TOTP code of anyone who has one. This middleware closes the rest: a staff member
without a TOTP authenticator is told to ask for an invitation, a session that was not
authenticated with it (opened before, or by another way in) must log in again, and allauth's
pages that set up an authenticator refuse staff without a followed invitation.
"""

from django.shortcuts import render
from django.urls import reverse

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
