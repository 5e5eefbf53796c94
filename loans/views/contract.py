"""The contract of an application as its applicant reviews it before signing: the draft PDF.

Found like every page of an application (`applications._own_application`): another person's
application is a 404. Only a complete draft has a contract to review; for anything else the
applicant goes back to the application's page with a message saying why.
"""

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from loans.contract import contract_pdf
from loans.views.applications import _own_application, back_to_application


@login_required
@require_safe
def contract_preview(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The contract marked BORRADOR, shown in the browser, for the owner of a complete draft."""
    application = _own_application(request, public_id)
    if not application.is_editable:
        return back_to_application(
            request,
            application,
            _(
                "La solicitud %(folio)s está %(status)s: ya no tiene un contrato en borrador "
                "que revisar."
            )
            % {
                "folio": application.folio,
                "status": application.get_status_display().lower(),
            },
        )
    if application.completed_at is None:
        return back_to_application(
            request,
            application,
            _(
                "El contrato de tu solicitud %(folio)s estará listo para revisarse cuando "
                "completes y confirmes todos los pasos."
            )
            % {"folio": application.folio},
        )

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
