from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html")


def privacy_notice(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/simplified.html")


def privacy_notice_full(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/full.html")
