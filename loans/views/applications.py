"""The applicant's applications: the wizard, "Mis solicitudes", an application's page.

Every URL that names an application uses its `public_id` and finds it among the signed-in
user's own (`loans.views.access.own_application`), so another person's application is a 404
wherever it is asked for; only the document download also lets staff in. The views parse
input, call one service of `loans.services` and choose a response; the services lock, check the
state and write.
"""

from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from affiliates.models import AffiliateLink
from affiliates.sync import affiliate_refresh
from isseg_portal.client_ip import client_ip
from isseg_portal.formatting import percent_text
from isseg_portal.quotas import quota_spend, retry_text
from isseg_portal.staff_second_factor import staff_second_factor_required
from loans.amortization import CAT_LEGEND, Quote, QuoteError
from loans.documents import MAX_DOCUMENT_BYTES, DocumentRejected, DocumentsTooLarge
from loans.models import (
    WIZARD_STEPS,
    ApplicationStatus,
    DocumentKind,
    LoanApplication,
    Notification,
    SupportingDocument,
)
from loans.selectors import application_quote, products_available
from loans.services import (
    ApplicationError,
    ApplicationNotEligible,
    application_add_document,
    application_cancel,
    application_complete,
    application_save_bank_account,
    application_save_contact,
    application_start,
    application_steps_missing,
)
from loans.views.access import own_application
from loans.views.simulator import simulator_response
from loans.wizard_forms import BankAccountForm, ContactForm, DocumentForm, ReviewForm, StartForm
from loans.workflow import ALLOWED_TRANSITIONS

S = ApplicationStatus

STEP_NAMES = {
    1: gettext_lazy("Tu préstamo"),
    2: gettext_lazy("Tus datos"),
    3: gettext_lazy("Tu cuenta bancaria"),
    4: gettext_lazy("Tus documentos"),
    5: gettext_lazy("Revisa y confirma"),
}
DOCUMENTS_STEP = 4
# A document upload is one file of at most 5 MB plus a few small fields and the multipart
# envelope; a request much larger is refused before its body is read (see application_step).
MAX_UPLOAD_REQUEST_BYTES = MAX_DOCUMENT_BYTES + 64 * 1024


# --- Start ------------------------------------------------------------------------------------


@login_required
@require_POST
def application_start_view(request: HttpRequest) -> HttpResponse:
    """The simulator's "Solicitar este préstamo": a draft for that quote, or why not.

    Whatever is wrong is answered with the simulator page for the same quote, the reasons as
    messages and status 400: the simulator is the page that holds that form.
    """
    link = AffiliateLink.objects.select_related("affiliate").filter(user=request.user).first()
    if link is None:
        messages.info(
            request,
            _("Para solicitar un préstamo, primero vincula tu cuenta con tus datos de afiliado."),
        )
        return redirect("affiliates:link")

    form = StartForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _refused(request)
    product = (
        products_available(on=timezone.localdate())
        .filter(code=form.cleaned_data["product"])
        .first()
    )
    if product is None:
        messages.error(
            request,
            _("El préstamo que elegiste no está disponible. Elige uno en el simulador."),
        )
        return _refused(request)

    # A second click finds the draft of the first one without asking the institute again.
    draft = _open_draft(request)
    if draft is None:
        outcome = affiliate_refresh(affiliate=link.affiliate)
        if not outcome.refreshed:
            # The rules run on the last known data; the applicant should know how old they are.
            messages.warning(request, outcome.message)
        affiliate, refreshed = outcome.affiliate, outcome.refreshed
    else:
        affiliate, refreshed = link.affiliate, False
    try:
        started = application_start(
            applicant=request.user,
            affiliate=affiliate,
            product=product,
            amount=form.cleaned_data["amount"],
            quincenas=form.cleaned_data["quincenas"],
            affiliate_refreshed=refreshed,
            ip_address=client_ip(request),
        )
    except ApplicationNotEligible as error:
        messages.error(request, error.message)
        for failure in error.failures:
            messages.error(request, failure.message)
        return _refused(request)
    except ApplicationError as error:
        messages.error(request, error.message)
        return _refused(request)

    application = started.application
    if started.created:
        messages.success(
            request,
            _(
                "Iniciaste tu solicitud %(folio)s. Completa los pasos que siguen; tu avance se "
                "guarda en cada uno."
            )
            % {"folio": application.folio},
        )
        return redirect(_step_url(application, 2))
    if started.same_terms:
        # A double click, the back button, a retry: the draft is already there.
        messages.info(
            request,
            _("Tu solicitud %(folio)s ya estaba iniciada: continúa donde te quedaste.")
            % {"folio": application.folio},
        )
        return redirect(_step_url(application, _open_step(application)))
    messages.warning(request, _("Ya tienes una solicitud en borrador: continúala o cancélala."))
    return redirect("loans:application_detail", public_id=application.public_id)


# --- The wizard -------------------------------------------------------------------------------


# CSRF is checked inside, by _step, once the request's size is known to be reasonable: the CSRF
# middleware would otherwise read a 2 GB upload to disk before anyone could refuse it.
@csrf_exempt
@login_required
@require_http_methods(["GET", "POST"])
def application_step(request: HttpRequest, public_id: UUID, step: int) -> HttpResponse:
    application = own_application(request, public_id)
    if step not in STEP_NAMES:
        raise Http404
    if (
        request.method == "POST"
        and step == DOCUMENTS_STEP
        and application.is_editable
        and _content_length(request) > MAX_UPLOAD_REQUEST_BYTES
    ):
        # Nothing was read or changed, so there is nothing CSRF could abuse.
        return _documents_page(
            request,
            application,
            upload_error=_(
                "El archivo pesa más de 5 MB, el máximo. Si es una foto, tómala con menor "
                "resolución; si es un PDF, escanéalo con menor calidad."
            ),
            status=413,
        )
    return _step(request, application=application, step=step)


@csrf_protect
def _step(request: HttpRequest, *, application: LoanApplication, step: int) -> HttpResponse:
    if not application.is_editable:
        message = _("La solicitud %(folio)s está %(status)s: ya no se puede modificar.") % {
            "folio": application.folio,
            "status": application.get_status_display().lower(),
        }
        if request.method != "POST":
            messages.info(request, message)
            return redirect("loans:application_detail", public_id=application.public_id)
        messages.error(request, message)
        return _detail_page(request, application, status=409)
    open_step = _open_step(application)
    if step > open_step:
        messages.info(
            request,
            _("Primero completa el paso %(step)s: %(name)s.")
            % {"step": open_step, "name": STEP_NAMES[open_step]},
        )
        return redirect(_step_url(application, open_step))
    return _STEP_VIEWS[step](request, application)


def _step_quote(request: HttpRequest, application: LoanApplication) -> HttpResponse:
    if request.method == "POST":
        return HttpResponseNotAllowed(["GET"])
    # The simulator opens on this same quote, to compare it with others.
    query = urlencode(
        {
            "product": application.product.code,
            "amount": application.amount,
            "quincenas": application.quincenas,
        }
    )
    simulator_url = f"{reverse('loans:simulator')}?{query}"
    return _render_step(request, application, 1, {"simulator_url": simulator_url})


def _step_contact(request: HttpRequest, application: LoanApplication) -> HttpResponse:
    if request.method != "POST":
        affiliate = application.affiliate
        form = ContactForm(
            initial={
                "phone": application.phone or affiliate.phone,
                "email": application.email or affiliate.email or request.user.email,
            }
        )
        return _render_step(request, application, 2, {"form": form})
    form = ContactForm(request.POST)
    if form.is_valid():
        try:
            application_save_contact(
                application=application,
                phone=form.cleaned_data["phone"],
                email=form.cleaned_data["email"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
            return _render_step(request, application, 2, {"form": form}, status=409)
        return _next(request, application, 2)
    return _render_step(request, application, 2, {"form": form}, status=400)


def _step_bank(request: HttpRequest, application: LoanApplication) -> HttpResponse:
    if request.method != "POST":
        confirmed = application.clabe_shared_confirmed_at is not None
        form = BankAccountForm(
            initial={
                "clabe": application.clabe,
                "account_is_own": application.account_is_own,
                "clabe_shared_confirmed": confirmed,
            },
            clabe_shared=confirmed,
        )
        return _render_step(request, application, 3, {"form": form})
    # The confirmation is asked once the service found the CLABE in another person's
    # application; a page that showed it posts it back.
    form = BankAccountForm(request.POST, clabe_shared="clabe_shared_confirmed" in request.POST)
    if form.is_valid():
        try:
            application = application_save_bank_account(
                application=application,
                clabe=form.cleaned_data["clabe"],
                account_is_own=form.cleaned_data["account_is_own"],
                clabe_shared_confirmed=form.cleaned_data.get("clabe_shared_confirmed", False),
            )
        except ApplicationError as error:
            if error.code == "clabe_shared":
                # Not a conflict: a confirmation is missing. The same page, with the box.
                form = BankAccountForm(request.POST, clabe_shared=True)
                form.is_valid()
                form.add_error("clabe_shared_confirmed", error.message)
                # The error says it all; the field's explanation would repeat it.
                form.fields["clabe_shared_confirmed"].help_text = ""
                return _render_step(request, application, 3, {"form": form}, status=400)
            form.add_error(None, error.message)
            return _render_step(request, application, 3, {"form": form}, status=409)
        messages.success(
            request,
            _("Guardamos tu CLABE de %(bank)s.") % {"bank": application.bank_name},
        )
        return _next(request, application, 3)
    return _render_step(request, application, 3, {"form": form}, status=400)


def _step_documents(request: HttpRequest, application: LoanApplication) -> HttpResponse:
    if request.method != "POST":
        return _documents_page(request, application)
    # Each upload is parsed and stored: a quota per person, before reading the file.
    exceeded = quota_spend(
        group="loans.document_upload",
        key=f"user:{request.user.pk}",
        rate=settings.DOCUMENT_UPLOAD_RATE,
    )
    if exceeded is not None:
        response = _documents_page(
            request,
            application,
            upload_error=_("Subiste muchos archivos en poco tiempo.") + " " + retry_text(exceeded),
            status=429,
        )
        response["Retry-After"] = exceeded.retry_after
        return response
    kind = request.POST.get("kind", "")
    if kind not in DocumentKind.values:
        return _documents_page(
            request,
            application,
            upload_error=_("Elige qué documento estás subiendo y vuelve a intentarlo."),
            status=400,
        )
    form = DocumentForm(request.POST, request.FILES, kind=kind)
    if form.is_valid():
        try:
            outcome = application_add_document(
                application=application, kind=kind, file=form.cleaned_data["file"]
            )
        except DocumentsTooLarge as error:
            form.add_error("file", error.message)
            return _documents_page(request, application, bound=form, status=413)
        except DocumentRejected as error:
            form.add_error("file", error.message)
            return _documents_page(request, application, bound=form, status=400)
        except ApplicationError as error:
            form.add_error(None, error.message)
            return _documents_page(request, application, bound=form, status=409)
        label = DocumentKind(kind).label
        if outcome.created:
            messages.success(request, _("Guardamos tu %(kind)s.") % {"kind": label.lower()})
        else:
            messages.info(
                request,
                _("Ese archivo ya estaba guardado como tu %(kind)s.") % {"kind": label.lower()},
            )
        application.refresh_from_db(fields=["completed_step", "completed_at"])
        if application.completed_step >= DOCUMENTS_STEP:
            return _next(request, application, DOCUMENTS_STEP)
        return redirect(_step_url(application, DOCUMENTS_STEP))
    return _documents_page(request, application, bound=form, status=400)


def _step_review(request: HttpRequest, application: LoanApplication) -> HttpResponse:
    if request.method != "POST":
        return _review_page(request, application, ReviewForm())
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _review_page(request, application, form, status=400)
    # Eligibility is checked again at completion, on data as fresh as the institute gives.
    outcome = affiliate_refresh(affiliate=application.affiliate)
    if not outcome.refreshed:
        messages.warning(request, outcome.message)
    try:
        application_complete(
            application=application,
            privacy_accepted=form.cleaned_data["privacy_accepted"],
            terms_accepted=form.cleaned_data["terms_accepted"],
        )
    except ApplicationNotEligible as error:
        form.add_error(None, error.message)
        for failure in error.failures:
            form.add_error(None, failure.message)
        return _review_page(request, application, form, status=409)
    except ApplicationError as error:
        form.add_error(None, error.message)
        return _review_page(request, application, form, status=409)
    messages.success(
        request, _("Confirmaste tu solicitud %(folio)s.") % {"folio": application.folio}
    )
    return redirect("loans:application_detail", public_id=application.public_id)


_STEP_VIEWS = {
    1: _step_quote,
    2: _step_contact,
    3: _step_bank,
    4: _step_documents,
    5: _step_review,
}


def _documents_page(
    request: HttpRequest,
    application: LoanApplication,
    *,
    bound: DocumentForm | None = None,
    upload_error: str = "",
    status: int = 200,
) -> HttpResponse:
    current = {document.kind: document for document in _current_documents(application)}
    sections = [
        {
            "kind": kind,
            "document": current.get(kind.value),
            "form": bound if bound is not None and bound.kind == kind.value else None,
        }
        for kind in DocumentKind
    ]
    for section in sections:
        if section["form"] is None:
            section["form"] = DocumentForm(kind=section["kind"].value)
    return _render_step(
        request,
        application,
        DOCUMENTS_STEP,
        {
            "sections": sections,
            "upload_error": upload_error,
            "all_present": len(current) == len(DocumentKind),
        },
        status=status,
    )


def _review_page(
    request: HttpRequest, application: LoanApplication, form: ReviewForm, *, status: int = 200
) -> HttpResponse:
    return _render_step(
        request,
        application,
        5,
        {
            "form": form,
            "documents": _current_documents(application),
            "missing": application_steps_missing(application=application),
        },
        status=status,
    )


def _render_step(
    request: HttpRequest,
    application: LoanApplication,
    step: int,
    context: dict,
    *,
    status: int = 200,
) -> HttpResponse:
    done = max(application.completed_step, 1)
    open_step = _open_step(application)
    progress = [
        {
            "number": number,
            "name": name,
            "url": _step_url(application, number) if number <= open_step else "",
            "done": number <= done,
            "current": number == step,
        }
        for number, name in STEP_NAMES.items()
    ]
    return render(
        request,
        f"loans/wizard/step_{step}.html",
        {
            "application": application,
            "step": step,
            "step_name": STEP_NAMES[step],
            "steps_total": WIZARD_STEPS,
            "progress": progress,
            "previous_url": _step_url(application, step - 1) if step > 1 else "",
            "snapshot": application.affiliate_snapshot,
            **terms_context(application),
            **context,
        },
        status=status,
    )


def _next(request: HttpRequest, application: LoanApplication, step: int) -> HttpResponse:
    return redirect(_step_url(application, min(step + 1, WIZARD_STEPS)))


# --- Mis solicitudes and an application's page -----------------------------------------------


@login_required
@require_safe
def application_list(request: HttpRequest) -> HttpResponse:
    applications = (
        LoanApplication.objects.filter(applicant=request.user)
        .select_related("product")
        .order_by("-created_at")
    )
    notices = Notification.objects.filter(
        recipient=request.user, read_at__isnull=True
    ).select_related("event__application")
    return render(
        request,
        "loans/application_list.html",
        {"applications": applications, "notices": notices},
    )


@login_required
@require_safe
def application_detail(request: HttpRequest, public_id: UUID) -> HttpResponse:
    application = own_application(request, public_id)
    # Its page shows what the notices said (the timeline): they count as read.
    Notification.objects.filter(
        recipient=request.user, event__application=application, read_at__isnull=True
    ).update(read_at=timezone.now())
    return _detail_page(request, application)


def _detail_page(
    request: HttpRequest, application: LoanApplication, *, status: int = 200
) -> HttpResponse:
    is_editable = application.is_editable
    return render(
        request,
        "loans/application_detail.html",
        {
            "application": application,
            **terms_context(application),
            "events": application.events.select_related("actor").order_by("sequence"),
            "documents": _current_documents(application),
            "can_cancel": _can_cancel(application),
            "continue_url": (
                _step_url(application, _open_step(application))
                if is_editable and application.completed_at is None
                else ""
            ),
            "draft_expiry_days": settings.LOAN_DRAFT_EXPIRY_DAYS,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def application_cancel_view(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """GET asks for confirmation; only a POST cancels."""
    application = own_application(request, public_id)
    if application.status == S.CANCELLED:
        # The second click of a double submit, or the back button after cancelling.
        messages.info(
            request,
            _("La solicitud %(folio)s ya está cancelada.") % {"folio": application.folio},
        )
        return redirect("loans:application_detail", public_id=application.public_id)
    if not _can_cancel(application):
        message = _("La solicitud %(folio)s está %(status)s y ya no se puede cancelar.") % {
            "folio": application.folio,
            "status": application.get_status_display().lower(),
        }
        if request.method != "POST":
            messages.info(request, message)
            return redirect("loans:application_detail", public_id=application.public_id)
        messages.error(request, message)
        return _detail_page(request, application, status=409)
    if request.method != "POST":
        return render(request, "loans/application_cancel.html", {"application": application})
    try:
        application_cancel(
            application=application, actor=request.user, ip_address=client_ip(request)
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return _detail_page(request, application, status=409)
    messages.success(
        request, _("Cancelaste la solicitud %(folio)s.") % {"folio": application.folio}
    )
    return redirect("loans:application_detail", public_id=application.public_id)


# --- Documents --------------------------------------------------------------------------------


@login_required
@require_safe
@staff_second_factor_required
def document_download(request: HttpRequest, public_id: UUID, document_id: UUID) -> HttpResponse:
    """The file, to its owner and to staff who may see documents; a 404 to anyone else."""
    documents = SupportingDocument.objects.select_related("application").filter(
        public_id=document_id, application__public_id=public_id
    )
    user = request.user
    if not (user.is_staff and user.has_perm("loans.view_supportingdocument")):
        documents = documents.filter(application__applicant=user)
    document = get_object_or_404(documents)
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(
        handle,
        as_attachment=True,
        filename=document.original_name,
        content_type=document.content_type,
    )
    # Never rendered by the browser, never guessed into HTML, never kept in a shared cache.
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- Helpers ----------------------------------------------------------------------------------


def _open_draft(request: HttpRequest) -> LoanApplication | None:
    return LoanApplication.objects.filter(applicant=request.user, status=S.DRAFT).first()


def _current_documents(application: LoanApplication) -> list[SupportingDocument]:
    order = {kind.value: index for index, kind in enumerate(DocumentKind)}
    documents = application.documents.filter(superseded_at__isnull=True)
    return sorted(documents, key=lambda document: order[document.kind])


def _open_step(application: LoanApplication) -> int:
    """The furthest step the applicant may open: the one after the last saved (1 is saved)."""
    return min(max(application.completed_step, 1) + 1, WIZARD_STEPS)


def _step_url(application: LoanApplication, step: int) -> str:
    return reverse(
        "loans:application_step", kwargs={"public_id": application.public_id, "step": step}
    )


def _can_cancel(application: LoanApplication) -> bool:
    return S.CANCELLED in ALLOWED_TRANSITIONS[application.status]


def terms_context(application: LoanApplication) -> dict:
    """The stored terms for includes/quote_summary.html, with their schedule recomputed.

    From the application's own terms, never the product's current ones: they are what the
    applicant accepted.
    """
    try:
        schedule: Quote | None = application_quote(application=application)
    except QuoteError:
        schedule = None
    return {
        "quote": schedule,
        "rate_percent": percent_text(application.annual_rate),
        "cat_legend": _(CAT_LEGEND),
    }


def _refused(request: HttpRequest) -> HttpResponse:
    """The simulator with what the person asked for, and the messages already queued."""
    query = {
        name: request.POST[name][:40]
        for name in ("product", "amount", "quincenas")
        if request.POST.get(name)
    }
    return simulator_response(request, query=query, status=400)


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


urlpatterns = [
    path("solicitudes/", application_list, name="application_list"),
    path("solicitudes/iniciar/", application_start_view, name="application_start"),
    path("solicitudes/<uuid:public_id>/", application_detail, name="application_detail"),
    path(
        "solicitudes/<uuid:public_id>/paso/<int:step>/",
        application_step,
        name="application_step",
    ),
    path(
        "solicitudes/<uuid:public_id>/cancelar/",
        application_cancel_view,
        name="application_cancel",
    ),
    path(
        "solicitudes/<uuid:public_id>/documentos/<uuid:document_id>/",
        document_download,
        name="document_download",
    ),
]
