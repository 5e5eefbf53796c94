from allauth.account.models import EmailAddress
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

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
