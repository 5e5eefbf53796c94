"""The contract of an application as its applicant reviews it before signing: the draft PDF.

Found like every page of an application (`access.own_application`): another person's
application is a 404. Only an application that can be signed has a contract to review; for
anything else the applicant goes back to the application's page with the reason
(`workflow.signing_refusal`).
"""

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe

from loans.contract import contract_pdf
from loans.views.access import back_to_application, own_application


@login_required
@require_safe
def contract_preview(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The contract marked BORRADOR, shown in the browser, for the owner of a complete draft."""
    application = own_application(request, public_id)
    refusal = application.signing_refusal
    if refusal is not None:
        return back_to_application(request, application, refusal)

    response = HttpResponse(contract_pdf(application, draft=True), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=False, filename=f"contrato-{application.folio}-borrador.pdf"
    )
    # Personal data: never kept by the browser or a shared cache, never sniffed as HTML.
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


urlpatterns = [
    path(
        "solicitudes/<uuid:public_id>/contrato/",
        contract_preview,
        name="contract_preview",
    ),
]
