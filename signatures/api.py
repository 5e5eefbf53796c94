"""The two-step signing API (JSON), used by the signing page and open to other clients.

    POST /solicitudes/<folio>/firma/preparar/   multipart "certificate" (the .cer)
      → {"session", "signed_attributes" (base64 DER), "digest_algorithm", "signature_algorithm"}
    POST /solicitudes/<folio>/firma/completar/  "session", "signature" (base64)
      → {"status": "signed", "document_url", "sha256"}

Errors: a 4xx (or 503 when a time-stamp or revocation service is down) with
``{"error": code, "message": Spanish text}`` (and ``"reasons"`` for a refused certificate).
Same session login and CSRF rules as every page; another person's folio is a 404.
"""

import base64
from functools import wraps

from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from loans.models import LoanApplication
from signatures.services import SigningError, signing_finish, signing_prepare


def own_application(request: HttpRequest, folio: str) -> LoanApplication:
    return get_object_or_404(
        LoanApplication.objects.select_related("affiliate", "product"),
        folio=folio,
        applicant=request.user,
    )


def json_login_required(view):
    """A JSON client whose login session ended gets a 401 it can explain, not a login page."""

    @wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse(
                {
                    "error": "login_required",
                    "message": _("Tu sesión terminó. Inicia sesión de nuevo para firmar."),
                },
                status=401,
            )
        return view(request, *args, **kwargs)

    return guarded


def _error(error: SigningError) -> JsonResponse:
    body = {"error": error.code, "message": error.message}
    if error.reasons:
        body["reasons"] = error.reasons
    return JsonResponse(body, status=error.status)


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR")


@never_cache
@json_login_required
@require_POST
def prepare(request: HttpRequest, folio: str) -> JsonResponse:
    application = own_application(request, folio)
    upload = request.FILES.get("certificate")
    try:
        # Read a little more than any certificate can be; the service refuses the excess.
        data = upload.read(64 * 1024) if upload is not None else b""
        session = signing_prepare(
            application=application,
            user=request.user,
            certificate_data=data,
            ip_address=_client_ip(request),
        )
    except SigningError as error:
        return _error(error)
    return JsonResponse(
        {
            "session": session.token,
            "signed_attributes": base64.b64encode(session.signed_attributes).decode("ascii"),
            "digest_algorithm": session.digest_algorithm,
            "signature_algorithm": session.signature_algorithm,
        }
    )


@never_cache
@json_login_required
@require_POST
def finish(request: HttpRequest, folio: str) -> JsonResponse:
    application = own_application(request, folio)
    try:
        document = signing_finish(
            application=application,
            user=request.user,
            token=request.POST.get("session", ""),
            signature_b64=request.POST.get("signature", ""),
            ip_address=_client_ip(request),
        )
    except SigningError as error:
        return _error(error)
    return JsonResponse(
        {
            "status": "signed",
            "document_url": reverse("signatures:signed_contract", args=[application.folio]),
            "sha256": document.sha256,
        }
    )
