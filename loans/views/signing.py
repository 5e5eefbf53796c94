"""Signing the contract: the applicant's page, the two-step JSON API, the signed PDF.

The page only shows the application and a form; the work happens in `static/js/signing.js`,
which decrypts the private key on the device and talks to the JSON API below (prepare with the
certificate, finish with the signature value). Nothing the page posts by itself can carry the
key or its password: those inputs have no `name`.

    POST /solicitudes/<public_id>/firma/preparar/   multipart "certificate" (the .cer)
      → {"session", "signed_attributes" (base64 DER), "digest_algorithm", "signature_algorithm"}
    POST /solicitudes/<public_id>/firma/completar/  "session", "signature" (base64)
      → {"status": "signed", "document_url", "sha256"}

Errors: the status of each code (`ERROR_STATUS`: a 4xx, or 503 when a time-stamp or revocation
service is down; 429 "rate_limited", with Retry-After, past SIGNING_PREPARE_RATE preparations
per person) with ``{"error": code, "message": Spanish text}`` (and ``"reasons"`` for a refused
certificate). Same session login and CSRF rules as every page; another person's
application is a 404. The addresses that carried the folio until 2026 redirect to these (308:
a request keeps its method and body). The signing itself is `loans.signing`, on top of the
`signatures` app.
"""

import base64
from functools import wraps
from uuid import UUID

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseRedirectBase
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from isseg_portal.client_ip import client_ip
from isseg_portal.quotas import quota_spend, retry_text
from isseg_portal.reauthentication import recent_authentication_required
from loans.signing import (
    application_sign_finish,
    application_sign_prepare,
    application_signed_contract,
)
from loans.views.access import back_to_application, own_application, own_application_by_folio

# The summary of the loan is the one the application's page shows, from the accepted terms.
from loans.views.applications import terms_context
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


# The HTTP status of each refusal of the signing services (`SigningError.code`).
ERROR_STATUS = {
    "certificate_missing": 400,
    "certificate_unreadable": 400,
    "certificate_refused": 422,
    "signature_invalid": 400,
    "session_expired": 400,
    # The draft was edited, returned or confirmed again after the session was prepared.
    "contract_changed": 409,
    "not_signable": 409,
    "not_allowed": 409,
    "not_editable": 409,
    "forbidden": 403,
    "service_unavailable": 503,
}


@login_required
@require_safe
@recent_authentication_required
def sign_page(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The signing form for a complete draft; any other application goes back to its page
    (the back button after signing, a second tab) saying why."""
    application = own_application(request, public_id)
    refusal = application.signing_refusal
    if refusal is not None:
        return back_to_application(request, application, refusal)
    kwargs = {"public_id": application.public_id}
    return render(
        request,
        "loans/sign.html",
        {
            "application": application,
            **terms_context(application),
            "steps": SIGNING_STEPS,
            "prepare_url": reverse("loans:sign_prepare", kwargs=kwargs),
            "complete_url": reverse("loans:sign_finish", kwargs=kwargs),
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
    return JsonResponse(body, status=ERROR_STATUS.get(error.code, 400))


@never_cache
@json_login_required
@require_POST
@recent_authentication_required(json=True)
def prepare(request: HttpRequest, public_id: UUID) -> JsonResponse:
    application = own_application(request, public_id)
    # Each preparation renders the contract and asks the certificate's OCSP: a quota per person.
    exceeded = quota_spend(
        group="loans.sign_prepare",
        key=f"user:{request.user.pk}",
        rate=settings.SIGNING_PREPARE_RATE,
    )
    if exceeded is not None:
        response = JsonResponse(
            {
                "error": "rate_limited",
                "message": _("Preparaste la firma muchas veces en poco tiempo.")
                + " "
                + retry_text(exceeded),
            },
            status=429,
        )
        response["Retry-After"] = exceeded.retry_after
        return response
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
def finish(request: HttpRequest, public_id: UUID) -> JsonResponse:
    application = own_application(request, public_id)
    try:
        document = application_sign_finish(
            application=application,
            user=request.user,
            token=request.POST.get("session", ""),
            signature_b64=request.POST.get("signature", ""),
            ip_address=client_ip(request),
        )
    except SigningError as error:
        return _error(error)
    return JsonResponse(
        {
            "status": "signed",
            "document_url": reverse("loans:signed_contract", args=[application.public_id]),
            "sha256": document.sha256,
        }
    )


@login_required
@require_safe
def signed_contract_download(request: HttpRequest, public_id: UUID) -> FileResponse:
    application = own_application(request, public_id)
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


class HttpResponsePermanentRedirectKeepingMethod(HttpResponseRedirectBase):
    status_code = 308


@login_required
def folio_redirect(request: HttpRequest, folio: str, to: str) -> HttpResponse:
    """An address that carried the folio (a page or a signing client from before): the same
    address by `public_id`, for the owner only; anyone else's folio is a 404."""
    application = own_application_by_folio(request, folio)
    return HttpResponsePermanentRedirectKeepingMethod(reverse(to, args=[application.public_id]))


urlpatterns = [
    path("solicitudes/<uuid:public_id>/firma/", sign_page, name="sign"),
    path("solicitudes/<uuid:public_id>/firma/preparar/", prepare, name="sign_prepare"),
    path("solicitudes/<uuid:public_id>/firma/completar/", finish, name="sign_finish"),
    path(
        "solicitudes/<uuid:public_id>/contrato-firmado/",
        signed_contract_download,
        name="signed_contract",
    ),
    *(
        path(
            f"solicitudes/<str:folio>/{tail}",
            folio_redirect,
            {"to": f"loans:{name}"},
            name=f"{name}_by_folio",
        )
        for tail, name in (
            ("firma/", "sign"),
            ("firma/preparar/", "sign_prepare"),
            ("firma/completar/", "sign_finish"),
            ("contrato-firmado/", "signed_contract"),
        )
    ),
]
