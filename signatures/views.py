"""The applicant's signing page: where the browser signs the contract with their e.firma.

The page only shows the application and a form; the work happens in `static/js/signing.js`,
which decrypts the private key on the device and talks to the JSON API of `signatures.api`
(prepare with the certificate, finish with the signature value). Nothing the page posts by
itself can carry the key or its password: those inputs have no `name`.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from loans.models import ApplicationStatus, LoanApplication

# The summary of the loan is the one the application's page shows, from the accepted terms.
from loans.views.applications import _terms_context

# What signing.js does, in order, as the page lists it; the keys are its names for the steps.
SIGNING_STEPS = [
    ("read", gettext_lazy("Leer tus archivos")),
    ("decrypt", gettext_lazy("Descifrar la llave en tu dispositivo")),
    ("match", gettext_lazy("Verificar que la llave corresponde al certificado")),
    ("validate", gettext_lazy("Validar tu certificado con el ISSEG")),
    ("sign", gettext_lazy("Firmar en tu dispositivo")),
    ("seal", gettext_lazy("Sellar con fecha y hora y guardar")),
]


@login_required
@require_safe
def sign_page(request: HttpRequest, folio: str) -> HttpResponse:
    """The signing form for a complete draft; any other application goes back to its page."""
    application = get_object_or_404(
        LoanApplication.objects.filter(applicant=request.user).select_related("product"),
        folio=folio,
    )
    if application.status == ApplicationStatus.SIGNED:
        # The back button after signing, or a second tab.
        messages.info(
            request, _("La solicitud %(folio)s ya está firmada.") % {"folio": application.folio}
        )
        return redirect("loans:application_detail", public_id=application.public_id)
    if application.status != ApplicationStatus.DRAFT:
        messages.info(
            request,
            _("La solicitud %(folio)s está %(status)s: ya no se puede firmar.")
            % {"folio": application.folio, "status": application.get_status_display().lower()},
        )
        return redirect("loans:application_detail", public_id=application.public_id)
    if application.completed_at is None:
        messages.info(
            request,
            _(
                "Antes de firmar, completa los pasos de tu solicitud %(folio)s y confírmala en "
                "el último paso."
            )
            % {"folio": application.folio},
        )
        return redirect("loans:application_detail", public_id=application.public_id)
    folio_kwargs = {"folio": application.folio}
    return render(
        request,
        "signatures/sign.html",
        {
            "application": application,
            **_terms_context(application),
            "steps": SIGNING_STEPS,
            "prepare_url": reverse("signatures:prepare", kwargs=folio_kwargs),
            "complete_url": reverse("signatures:finish", kwargs=folio_kwargs),
        },
    )
