"""The portal's hooks into django-allauth: the sign-in throttle and a sign-up that takes the same
work whether the email is taken or not."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.contrib.auth.hashers import make_password
from django.http import HttpRequest

from isseg_portal import login_throttle


def _login(credentials: dict[str, Any]) -> str:
    return credentials.get("email") or credentials.get("username") or ""


class AccountAdapter(DefaultAccountAdapter):
    """Failed sign-ins are throttled per account and address (isseg_portal.login_throttle)
    instead of allauth's lock per account; every password check goes through here: the sign-in
    form and the re-authentication before signing, staff actions and Tesorería's files."""

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        found = login_throttle.attempt_start(request, _login(credentials))
        if isinstance(found, login_throttle.Refusal):
            login_throttle.request_refused(request, found)
            raise forms.ValidationError(
                login_throttle.refusal_message(found), code="too_many_login_attempts"
            )
        self._throttle_attempt = found

    def authenticate(self, request: HttpRequest, **credentials: Any):
        self._throttle_attempt = None
        user = super().authenticate(request, **credentials)
        if user is not None and self._throttle_attempt is not None:
            login_throttle.attempt_succeeded(self._throttle_attempt)
        return user

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        attempt = getattr(self, "_throttle_attempt", None)
        if attempt is not None:
            login_throttle.attempt_failed(attempt)

    def _delete_login_attempts_cached_email(self, request: HttpRequest, **credentials: Any):
        # A password reset completed: the account starts afresh at this address too.
        super()._delete_login_attempts_cached_email(request, **credentials)
        login_throttle.pair_clear(request, _login(credentials))


class SignupForm(AllauthSignupForm):
    """allauth's sign-up form (ACCOUNT_FORMS). With a taken email allauth creates nothing and
    only emails the owner; a new account costs a password hash, the slowest step by far. The
    taken email's path hashes the password too, so how long the answer takes does not tell
    whether the email has an account (ACCOUNT_PREVENT_ENUMERATION)."""

    def try_save(self, request: HttpRequest):
        if self.account_already_exists:
            make_password(self.cleaned_data.get("password1"))
        return super().try_save(request)
