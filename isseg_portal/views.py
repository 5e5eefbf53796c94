from allauth.account.models import EmailAddress
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


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
