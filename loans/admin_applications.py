"""Loan applications in the Django admin: the staff's back office.

Read-only for data: the status is never a field anyone edits. What staff do are actions, each a
button that leads to a confirmation page (GET shows, never acts) whose form POSTs to the same
URL, which calls one service of `loans.services` and goes back to the application with a
message. Who sees which button follows the same permissions the services check.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from allauth.core.exceptions import ReauthenticationRequired
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from affiliates.sync import affiliate_refresh
from isseg_portal.reauthentication import recently_authenticated
from loans.eligibility import evaluate
from loans.models import ApplicationStatus, LoanApplication, RejectionReason
from loans.selectors import affiliate_facts, audit_chain_report, product_terms
from loans.services import (
    ALLOWED_TRANSITIONS,
    ApplicationError,
    TransferData,
    application_approve,
    application_register_payment,
    application_reject,
    application_return,
    application_take_for_review,
)
from loans.services.review import PERMISSION_APPROVE, PERMISSION_PAY, PERMISSION_REVIEW
from loans.signing import SEALED_CONTRACT_KIND, application_signed_contract
from loans.tasks import SEALED_STATES
from signatures.models import SignedDocument

S = ApplicationStatus


class ReturnForm(forms.Form):
    reason = forms.CharField(
        label=_("Qué debe corregir el solicitante"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=1000,
    )


class RejectForm(forms.Form):
    reason_code = forms.ChoiceField(label=_("Motivo"), choices=RejectionReason.choices)
    details = forms.CharField(
        label=_("Explicación para el solicitante"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=1000,
    )


class PaymentForm(forms.Form):
    spei_reference = forms.CharField(label=_("Referencia SPEI"), max_length=40)
    paid_on = forms.DateField(
        label=_("Fecha de pago"), widget=forms.DateInput(attrs={"type": "date"})
    )
    amount = forms.DecimalField(label=_("Monto pagado"), max_digits=12, decimal_places=2)
    clabe = forms.CharField(label=_("CLABE de destino"), min_length=18, max_length=18)


class ConfirmForm(forms.Form):
    """Nothing to fill in: the POST itself is the confirmation."""


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    from_status: str
    to_status: str
    permission: str
    form: type[forms.Form]
    question: str


ACTIONS = {
    action.name: action
    for action in (
        Action(
            "revisar",
            _("Tomar para revisión"),
            S.SIGNED,
            S.IN_REVIEW,
            PERMISSION_REVIEW,
            ConfirmForm,
            _("¿Tomar esta solicitud para revisarla? Quedará asignada a ti."),
        ),
        Action(
            "devolver",
            _("Devolver para corrección"),
            S.IN_REVIEW,
            S.RETURNED,
            PERMISSION_REVIEW,
            ReturnForm,
            _("El solicitante leerá el motivo, corregirá y volverá a firmar."),
        ),
        Action(
            "rechazar",
            _("Rechazar"),
            S.IN_REVIEW,
            S.REJECTED,
            PERMISSION_REVIEW,
            RejectForm,
            _("La solicitud no continuará. El solicitante leerá el motivo."),
        ),
        Action(
            "aprobar",
            _("Aprobar"),
            S.IN_REVIEW,
            S.APPROVED,
            PERMISSION_APPROVE,
            ConfirmForm,
            _("¿Aprobar este préstamo? El contrato recibirá el sello institucional."),
        ),
        Action(
            "pagar",
            _("Registrar pago"),
            S.APPROVED,
            S.DISBURSED,
            PERMISSION_PAY,
            PaymentForm,
            _("Registra la transferencia SPEI: el monto y la CLABE deben ser los de la solicitud."),
        ),
    )
}


def _perform(action: Action, request: HttpRequest, application: LoanApplication, data: dict):
    ip_address = request.META.get("REMOTE_ADDR")
    actor = request.user
    if action.name == "revisar":
        return application_take_for_review(
            application=application, actor=actor, ip_address=ip_address
        )
    if action.name == "devolver":
        return application_return(
            application=application, actor=actor, reason=data["reason"], ip_address=ip_address
        )
    if action.name == "rechazar":
        return application_reject(
            application=application,
            actor=actor,
            reason_code=data["reason_code"],
            details=data["details"],
            ip_address=ip_address,
        )
    if action.name == "aprobar":
        return application_approve(application=application, actor=actor, ip_address=ip_address)
    return application_register_payment(
        application=application,
        actor=actor,
        transfer=TransferData(
            spei_reference=data["spei_reference"],
            paid_on=data["paid_on"],
            amount=data["amount"],
            clabe=data["clabe"],
        ),
        ip_address=ip_address,
    )


@admin.register(LoanApplication)
class LoanApplicationAdmin(admin.ModelAdmin):
    list_display = (
        "folio",
        "applicant_name",
        "product",
        "amount",
        "quincenas",
        "status_with_seal",
        "days_in_status",
        "analyst",
    )
    list_select_related = ("affiliate", "product", "analyst")
    list_filter = (
        "status",
        "product",
        "affiliate__employer",
        "affiliate__municipality",
        "created_at",
    )
    search_fields = (
        "folio",
        "affiliate__curp",
        "affiliate__given_names",
        "affiliate__first_surname",
        "affiliate__second_surname",
    )
    date_hierarchy = "created_at"
    ordering = ("status_changed_at",)
    list_per_page = 50
    show_full_result_count = False
    change_form_template = "admin/loans/loanapplication/change_form.html"

    fieldsets = (
        (
            _("Solicitud"),
            {
                "fields": (
                    "folio",
                    "status",
                    "status_changed_at",
                    "product",
                    "amount",
                    "quincenas",
                    "annual_rate",
                    "payment",
                    "cat",
                    "previous_balance",
                    "net_to_receive",
                    "created_at",
                    "completed_at",
                )
            },
        ),
        (
            _("Solicitante"),
            {"fields": ("affiliate", "phone", "email", "clabe", "bank_name", "account_is_own")},
        ),
        (_("Personal"), {"fields": ("analyst", "approver")}),
    )

    def get_queryset(self, request):
        sealed = SignedDocument.objects.filter(
            kind=SEALED_CONTRACT_KIND, reference=OuterRef("folio")
        )
        return super().get_queryset(request).annotate(sealed=Exists(sealed))

    @admin.display(description=_("estado"), ordering="status")
    def status_with_seal(self, application: LoanApplication) -> str:
        return status_with_seal(application, sealed=application.sealed)

    @admin.display(description=_("solicitante"), ordering="affiliate__first_surname")
    def applicant_name(self, application: LoanApplication) -> str:
        return application.affiliate.full_name

    @admin.display(description=_("días en el estado"), ordering="status_changed_at")
    def days_in_status(self, application: LoanApplication) -> int:
        return (timezone.now() - application.status_changed_at).days

    def get_readonly_fields(self, request, obj=None):
        return [field for fieldset in self.fieldsets for field in fieldset[1]["fields"]]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # Nothing is edited here; the page is for looking and the actions are services.
        return False

    def get_urls(self):
        return [
            path(
                "<int:object_id>/accion/<str:action_name>/",
                self.admin_site.admin_view(self.action_view),
                name="loans_loanapplication_action",
            ),
            *super().get_urls(),
        ]

    def actions_for(self, request: HttpRequest, application: LoanApplication) -> list[Action]:
        return [
            action
            for action in ACTIONS.values()
            if action.from_status == application.status
            and action.to_status in ALLOWED_TRANSITIONS[application.status]
            and request.user.has_perm(action.permission)
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        application = get_object_or_404(
            LoanApplication.objects.select_related("affiliate__employer", "product"),
            pk=object_id,
        )
        if not self.has_view_permission(request, application):
            raise PermissionDenied
        extra_context = {
            **(extra_context or {}),
            **review_context(application),
            "staff_actions": [
                (
                    action,
                    reverse(
                        "admin:loans_loanapplication_action", args=[application.pk, action.name]
                    ),
                )
                for action in self.actions_for(request, application)
            ],
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def action_view(self, request: HttpRequest, object_id: int, action_name: str) -> HttpResponse:
        application = get_object_or_404(LoanApplication, pk=object_id)
        action = ACTIONS.get(action_name)
        if action is None or not request.user.has_perm(action.permission):
            raise PermissionDenied
        if not recently_authenticated(request):
            # A decision on someone's loan: the password again when the login is not recent
            # (allauth's page, which comes back here).
            raise ReauthenticationRequired()
        change_url = reverse("admin:loans_loanapplication_change", args=[application.pk])
        form = action.form(request.POST if request.method == "POST" else None)
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                try:
                    _perform(action, request, application, form.cleaned_data)
                except ApplicationError as error:
                    # The rules refused: say why on the same page, keeping what was typed.
                    form.add_error(None, error.message)
                    status = 409
                else:
                    self.message_user(
                        request,
                        _("%(folio)s: %(action)s, hecho.")
                        % {"folio": application.folio, "action": action.label},
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{action.label} · {application.folio}",
            "application": application,
            "action": action,
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(
            request, "admin/loans/loanapplication/action.html", context, status=status
        )


SNAPSHOT_FIELDS = (
    ("full_name", _("Nombre")),
    ("status", _("Estatus")),
    ("municipality", _("Municipio")),
    ("base_salary", _("Sueldo base")),
    ("net_pay", _("Neto quincenal")),
    ("current_deductions", _("Descuentos vigentes")),
    ("is_blocked", _("Bloqueado")),
)


def review_context(application: LoanApplication) -> dict:
    """What the change page shows besides the fields: then and now, eligibility, documents,
    the contract and its signatures, the timeline and the audit chain."""
    from signatures.validation import validate_pdf

    refresh = affiliate_refresh(affiliate=application.affiliate)
    fresh = refresh.affiliate
    snapshot = application.affiliate_snapshot or {}
    comparison = []
    for field, label in SNAPSHOT_FIELDS:
        then = snapshot.get(field, "")
        now = getattr(fresh, field if field != "full_name" else "full_name")
        comparison.append(
            {"label": label, "then": then, "now": now, "differs": _differs(then, now)}
        )
    eligibility = evaluate(
        affiliate=affiliate_facts(affiliate=fresh, on=timezone.localdate()),
        product=product_terms(product=application.product),
        amount=application.amount,
        quincenas=application.quincenas,
    )
    contract = application_signed_contract(application)
    report = validate_pdf(contract.file.read()) if contract else None
    sealed = contract is not None and contract.kind == SEALED_CONTRACT_KIND
    return {
        "status_with_seal": status_with_seal(application, sealed=sealed),
        "refresh": refresh,
        "comparison": comparison,
        "eligibility": eligibility,
        "documents": application.documents.filter(superseded_at__isnull=True).order_by("kind"),
        "contract": contract,
        "contract_report": report,
        "events": application.events.select_related("actor").order_by("sequence"),
        "audit": audit_chain_report(),
    }


def status_with_seal(application: LoanApplication, *, sealed: bool) -> str:
    """ "Aprobada, sello pendiente" while the seal task has not sealed the contract yet."""
    if application.status in SEALED_STATES and not sealed:
        return _("%(status)s, sello pendiente") % {"status": application.get_status_display()}
    return application.get_status_display()


def _differs(then, now) -> bool:
    try:
        return Decimal(str(then)) != Decimal(str(now))
    except (InvalidOperation, ValueError):
        return str(then) != str(now)
