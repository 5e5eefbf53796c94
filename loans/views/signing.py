"""Signing the contract: the applicant's page, the two-step JSON API, the signed PDF.

The page only shows the application and a form; the work happens in `static/js/signing.js`,
which decrypts the private key on the device and talks to the JSON API below (prepare with the
certificate, finish with the signature value). Nothing the page posts by itself can carry the
key or its password: those inputs have no `name`.

    POST /solicitudes/<folio>/firma/preparar/   multipart "certificate" (the .cer)
      → {"session", "signed_attributes" (base64 DER), "digest_algorithm", "signature_algorithm"}
    POST /solicitudes/<folio>/firma/completar/  "session", "signature" (base64)
      → {"status": "signed", "document_url", "sha256"}

Errors: a 4xx (or 503 when a time-stamp or revocation service is down) with
``{"error": code, "message": Spanish text}`` (and ``"reasons"`` for a refused certificate).
Same session login and CSRF rules as every page; another person's folio is a 404. The signing
itself is `loans.signing`, on top of the `signatures` app.
"""

import base64
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from isseg_portal.reauthentication import recent_authentication_required
from loans.models import ApplicationStatus, LoanApplication
from loans.signing import (
    application_sign_finish,
    application_sign_prepare,
    application_signed_contract,
)

# The summary of the loan is the one the application's page shows, from the accepted terms.
from loans.views.applications import _terms_context, back_to_application
from signatures.services import SigningError

# What signing.js does, in order, as the page lists it; the keys are its names for the steps.
SIGNING_STEPS = [
    ("read", gettext_lazy("Leer tus archivos")),
    ("decrypt", gettext_lazy("Descifrar la llave en tu dispositivo")),
    ("match", gettext_lazy("Verificar que la llave corresponde al certificado")),
    ("validate", gettext_lazy("Validar tu certificado con el ISSEG")),
    ("sign", gettext_lazy("Firmar en tu dispositivo")),
    ("seal", gettext_lazy("Sellar con fecha y hora y guardar")),
]
# A certificate is a few kilobytes; read a little more than any can be, the service refuses it.
CERTIFICATE_READ_LIMIT = 64 * 1024


def _own_by_folio(request: HttpRequest, folio: str) -> LoanApplication:
    return get_object_or_404(
        LoanApplication.objects.select_related("affiliate", "product"),
        folio=folio,
        applicant=request.user,
    )


@login_required
@require_safe
@recent_authentication_required
def sign_page(request: HttpRequest, folio: str) -> HttpResponse:
    """The signing form for a complete draft; any other application goes back to its page."""
    application = _own_by_folio(request, folio)
    if application.status == ApplicationStatus.SIGNED:
        # The back button after signing, or a second tab.
        return back_to_application(
            request,
            application,
            _("La solicitud %(folio)s ya está firmada.") % {"folio": application.folio},
        )
    if not application.is_editable:
        return back_to_application(
            request,
            application,
            _("La solicitud %(folio)s está %(status)s: ya no se puede firmar.")
            % {"folio": application.folio, "status": application.get_status_display().lower()},
        )
    if application.completed_at is None:
        return back_to_application(
            request,
            application,
            _(
                "Antes de firmar, completa los pasos de tu solicitud %(folio)s y confírmala en "
                "el último paso."
            )
            % {"folio": application.folio},
        )
    folio_kwargs = {"folio": application.folio}
    return render(
        request,
        "loans/sign.html",
        {
            "application": application,
            **_terms_context(application),
            "steps": SIGNING_STEPS,
            "prepare_url": reverse("loans:sign_prepare", kwargs=folio_kwargs),
            "complete_url": reverse("loans:sign_finish", kwargs=folio_kwargs),
        },
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


@never_cache
@json_login_required
@require_POST
@recent_authentication_required(json=True)
def prepare(request: HttpRequest, folio: str) -> JsonResponse:
    application = _own_by_folio(request, folio)
    upload = request.FILES.get("certificate")
    data = upload.read(CERTIFICATE_READ_LIMIT) if upload is not None else b""
    try:
        session = application_sign_prepare(
            application=application, user=request.user, certificate_data=data
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
    application = _own_by_folio(request, folio)
    try:
        document = application_sign_finish(
            application=application,
            user=request.user,
            token=request.POST.get("session", ""),
            signature_b64=request.POST.get("signature", ""),
            ip_address=request.META.get("REMOTE_ADDR"),
        )
    except SigningError as error:
        return _error(error)
    return JsonResponse(
        {
            "status": "signed",
            "document_url": reverse("loans:signed_contract", args=[application.folio]),
            "sha256": document.sha256,
        }
    )


@login_required
@require_safe
def signed_contract_download(request: HttpRequest, folio: str) -> FileResponse:
    application = _own_by_folio(request, folio)
    document = application_signed_contract(application)
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


urlpatterns = [
    path("solicitudes/<str:folio>/firma/", sign_page, name="sign"),
    path("solicitudes/<str:folio>/firma/preparar/", prepare, name="sign_prepare"),
    path("solicitudes/<str:folio>/firma/completar/", finish, name="sign_finish"),
    path(
        "solicitudes/<str:folio>/contrato-firmado/",
        signed_contract_download,
        name="signed_contract",
    ),
]
