"""The public verification page, /verificar/: upload a PDF, or arrive from a contract's QR code.

No login. An upload is read in memory, validated, looked up by its SHA-256 and forgotten; what
the PDF report needs (never the file) stays in the session so that "Descargar el reporte" works
after the page is shown. Uploads are limited in size and, per IP address, in number. A visit
from a QR code (a GET) writes no session: its report is made from the institute's own file.
"""

import uuid

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe
from django_ratelimit.core import is_ratelimited

from isseg_portal.client_ip import client_ip_key
from signatures import verification
from signatures.rendering import html_to_pdf
from signatures.validation import PdfUnreadable

SESSION_KEY = "signatures.verification"
UPLOAD_FIELD = "documento"


@require_http_methods(["GET", "HEAD", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    result, error, status = _checked_upload(request)
    return _page(request, result=result, error=error, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def verify_token(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    held = _held_or_404(token)
    context = {"held": held, "replacement": verification.replacement_of(held)}
    if request.method == "POST":
        result, error, status = _checked_upload(request)
        context["compared"] = result is not None
        context["same_file"] = result is not None and result.sha256 == held.sha256
        return _page(request, result=result, error=error, status=status, **context)
    result = _held_verification(held)
    if result is None:
        # The kept file is unreadable: the page must say so rather than vouch for it.
        return _page(
            request,
            error=_("El Instituto no pudo leer su copia de este documento. Avísanos, por favor."),
            status=503,
            **context,
        )
    # Nothing goes in the session: a visit from a QR code creates none. Its report is made
    # again from the kept file (`verify_token_report`), whose validation is cached.
    report_url = reverse("signatures:verify_token_report", args=[held.verification_token])
    return _page(request, result=result, report_url=report_url, **context)


@require_safe
def verify_report(request: HttpRequest) -> HttpResponse:
    data = request.session.get(SESSION_KEY)
    if not data:
        return redirect("signatures:verify")
    return _report_response(request, verification.Verification.from_session(data))


@require_safe
def verify_token_report(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    """The PDF report of the institute's own file that the QR code's `token` names."""
    held = _held_or_404(token)
    result = _held_verification(held)
    if result is None:
        return redirect("signatures:verify_token", token=held.verification_token)
    return _report_response(request, result)


def _held_or_404(token: uuid.UUID):
    held = verification.held_document(token=token)
    if held is None:
        raise Http404(_("Ningún documento del Instituto tiene ese código de verificación."))
    return held


def _held_verification(held) -> verification.Verification | None:
    """What the institute's file proves, or None when it cannot be read."""
    try:
        return verification.verification_of(held.file.read(), checked_at=timezone.now())
    except (OSError, PdfUnreadable):
        return None
    finally:
        held.file.close()


def _report_response(request: HttpRequest, result: verification.Verification) -> HttpResponse:
    html = render_to_string(
        "signatures/verification_report.html", {"result": result}, request=request
    )
    response = HttpResponse(html_to_pdf(html), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="reporte-de-verificacion-{result.sha256[:12]}.pdf"'
    )
    return response


def _checked_upload(request: HttpRequest):
    """(result, error, status) for the uploaded PDF; the file itself is never kept."""
    if is_ratelimited(
        request,
        group="signatures.verify",
        # The person's address, not the load balancer's (DJANGO_BEHIND_PROXY).
        key=client_ip_key,
        rate=settings.SIGNATURES_VERIFY_RATE,
        method="POST",
        increment=True,
    ):
        return (
            None,
            _(
                "Se revisaron muchos documentos desde tu conexión en poco tiempo. Espera un "
                "momento y vuelve a intentarlo."
            ),
            429,
        )
    upload = request.FILES.get(UPLOAD_FIELD)
    if upload is None:
        return None, _("Elige el archivo PDF del documento que quieres verificar."), 400
    if upload.size > verification.MAX_UPLOAD_BYTES:
        return (
            None,
            _("El archivo pesa %(size)s MB; el máximo es 20 MB.")
            % {"size": f"{upload.size / 1024 / 1024:.1f}"},
            413,
        )
    data = upload.read()
    if not data.startswith(b"%PDF-"):
        return None, _("El archivo no es un PDF. Elige el contrato en formato PDF."), 400
    try:
        result = verification.verification_of(data, checked_at=timezone.now())
    except PdfUnreadable:
        return None, _("No se pudo leer el PDF: el archivo está dañado o incompleto."), 400
    finally:
        upload.close()
    request.session[SESSION_KEY] = result.as_session()
    return result, "", 200


def _page(
    request, *, result=None, error="", status=200, report_url=None, **context
) -> HttpResponse:
    context.update(
        {
            "result": result,
            # An upload's report is read back from the session (`verify_report`).
            "report_url": report_url or reverse("signatures:verify_report"),
            "error": error,
            "upload_field": UPLOAD_FIELD,
            "max_megabytes": verification.MAX_UPLOAD_BYTES // (1024 * 1024),
        }
    )
    return render(request, "signatures/verify.html", context, status=status)
