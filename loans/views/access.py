"""How a view finds the application it is about: by its opaque `public_id`, among the signed-in
applicant's own. Another person's application is a 404, wherever it is asked for."""

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect

from loans.models import LoanApplication


def own_application(request: HttpRequest, public_id: UUID) -> LoanApplication:
    """The signed-in user's application `public_id`, or a 404."""
    return get_object_or_404(
        LoanApplication.objects.select_related("product", "affiliate__employer"),
        public_id=public_id,
        applicant=request.user,
    )


def own_application_by_folio(request: HttpRequest, folio: str) -> LoanApplication:
    """The same, by folio: only for the addresses that used to carry it (they redirect)."""
    return get_object_or_404(
        LoanApplication.objects.only("pk", "public_id"), folio=folio, applicant=request.user
    )


def back_to_application(
    request: HttpRequest, application: LoanApplication, message: str
) -> HttpResponse:
    """Why a page of this application cannot be shown now, on the application's own page."""
    messages.info(request, message)
    return redirect("loans:application_detail", public_id=application.public_id)
