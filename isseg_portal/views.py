from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from isseg_portal.quotas import rate_window_seconds
from isseg_portal.staff_second_factor import (
    InvitationError,
    enrolment_allowed,
    has_authenticator,
    privileged,
    staff_invitation_accept,
    staff_invitation_check,
)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def privacy_notice(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/simplified.html")


def privacy_notice_full(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/full.html")


@login_required
def my_account(request: HttpRequest) -> HttpResponse:
    """The "Mi cuenta" page: the account's email, and links to allauth's password and email."""
    email_verified = EmailAddress.objects.filter(
        user=request.user, email__iexact=request.user.email, verified=True
    ).exists()
    return render(request, "account/my_account.html", {"email_verified": email_verified})


@login_required
@require_safe
def staff_second_factor(request: HttpRequest) -> HttpResponse:
    """Where staff without an authenticator land: ask an administrator for an invitation (or,
    having followed one, go on to set it up)."""
    user = request.user
    if not privileged(user) or has_authenticator(user):
        return redirect("home")
    if enrolment_allowed(request):
        return redirect("mfa_activate_totp")
    return render(request, "isseg_portal/staff_second_factor.html", status=403)


@login_required
@require_http_methods(["GET", "POST"])
def staff_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation's link: a page with a button on GET (a mail scanner opening the link uses
    nothing), the invitation used on POST, and on to setting up the authenticator."""
    try:
        if request.method == "POST":
            staff_invitation_accept(request=request, token=token)
            return redirect("mfa_activate_totp")
        staff_invitation_check(token=token, user=request.user)
    except InvitationError as error:
        return render(
            request,
            "isseg_portal/staff_invitation.html",
            {"error": error.message},
            status=error.status,
        )
    return render(request, "isseg_portal/staff_invitation.html", {"error": None})


def too_many_requests(request: HttpRequest) -> HttpResponse:
    """allauth's 429 (it calls the URLconf's `handler429`): too many logins, resets or
    sign-ups. For sign-ups, the counted window says when to try again at the latest."""
    context = {}
    match = getattr(request, "resolver_match", None)
    if match is not None and match.url_name == "account_signup":
        window = max((rate_window_seconds(rate) for rate in _allauth_rates("signup")), default=3600)
        retry_at = timezone.localtime(timezone.now() + timedelta(seconds=window))
        context["retry_message"] = _(
            "Desde tu conexión se crearon muchas cuentas en poco tiempo. Podrás crear otra a "
            "más tardar a las %(time)s."
        ) % {"time": time_format(retry_at, "H:i")}
    response = render(request, "429.html", context, status=429)
    if "retry_message" in context:
        response["Retry-After"] = str(window)
    return response


def _allauth_rates(action: str) -> list[str]:
    """The "amount/window" of each of allauth's rates for `action` ("20/m/ip" -> "20/m")."""
    rates = settings.ACCOUNT_RATE_LIMITS.get(action) or ""
    return ["/".join(rate.strip().split("/")[:2]) for rate in rates.split(",") if rate.strip()]
