"""The signed contract, for the applicant who signed it."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe

from signatures.api import own_application
from signatures.services import signed_contract


@login_required
@require_safe
def signed_contract_download(request: HttpRequest, folio: str) -> FileResponse:
    application = own_application(request, folio)
    document = signed_contract(application)
    if document is None:
        raise Http404
    response = FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=f"contrato-{application.folio}-firmado.pdf",
        content_type="application/pdf",
    )
    response["Cache-Control"] = "private, no-store"
    return response
