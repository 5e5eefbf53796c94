from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


@login_required
def my_affiliation(request: HttpRequest) -> HttpResponse:
    return render(request, "affiliates/my_affiliation.html")


@login_required
def link(request: HttpRequest) -> HttpResponse:
    return render(request, "affiliates/link.html")
