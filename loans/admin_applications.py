"""Loan applications in the Django admin: the staff's back office.

Read-only for data: the status is never a field anyone edits. What staff do are actions, each a
button that leads to a confirmation page (GET shows, never acts) whose form POSTs to the same
URL, which calls one service of `loans.services` and goes back to the application with a
message. Which buttons there are, and who sees each, is `loans.workflow.STAFF_ACTIONS`.
"""

from decimal import Decimal, InvalidOperation

from allauth.core.exceptions import ReauthenticationRequired
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from affiliates.sync import affiliate_refresh, format_synced_at
from isseg_portal.client_ip import client_ip
from isseg_portal.plain_text import PlainTextAdminMixin, PlainTextField
from isseg_portal.reauthentication import recently_authenticated
from loans.eligibility import evaluate
from loans.models import AuditChainCheck, LoanApplication, RejectionReason
from loans.selectors import affiliate_facts, clabe_shared_with, product_terms
from loans.services import (
    ApplicationError,
    TransferData,
    TransferInvalid,
    application_approve,
    application_register_payment,
    application_reject,
    application_return,
    application_take_for_review,
    transfer_problems,
)
from loans.signing import SEALED_CONTRACT_KIND, application_signed_contract
from loans.workflow import ALLOWED_TRANSITIONS, STAFF_ACTIONS, ApplicationStatus, StaffAction
from signatures.models import SignedDocument


class ActionForm(forms.Form):
    """The form of an action's confirmation page, which knows the application it acts on."""

    def __init__(self, *args, application: LoanApplication, **kwargs):
        super().__init__(*args, **kwargs)
        self.application = application


class ReturnForm(ActionForm):
    reason = PlainTextField(
        multiline=True,
        label=_("Qué debe corregir el solicitante"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=1000,
    )


class RejectForm(ActionForm):
    reason_code = forms.ChoiceField(label=_("Motivo"), choices=RejectionReason.choices)
    details = PlainTextField(
        multiline=True,
        label=_("Explicación para el solicitante"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=1000,
    )


class PaymentForm(ActionForm):
    """The SPEI transfer. Every problem is said at once: the fields' own, and those the
    service would find (`transfer_problems`) on the fields that could be read. The service
    checks again under the lock."""

    spei_reference = PlainTextField(
        label=_("Referencia SPEI"),
        max_length=40,
        error_messages={"required": _("Escribe la referencia de la transferencia SPEI.")},
    )
    paid_on = forms.DateField(
        label=_("Fecha de pago"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": _("Escribe la fecha de pago."),
            "invalid": _("La fecha de pago no es una fecha válida (día, mes y año)."),
        },
    )
    amount = forms.DecimalField(
        label=_("Monto pagado"),
        max_digits=12,
        decimal_places=2,
        error_messages={
            "required": _("Escribe el monto pagado."),
            "invalid": _("Escribe el monto pagado en pesos, con punto para los centavos."),
        },
    )
    clabe = forms.CharField(
        label=_("CLABE de destino"),
        min_length=18,
        max_length=18,
        error_messages={"required": _("Escribe la CLABE de destino.")},
    )

    def clean(self):
        cleaned = super().clean()
        if self.application.status != ApplicationStatus.APPROVED:
            # Not payable now: the service says so (a conflict of state), not the fields.
            return cleaned
        problems = transfer_problems(
            application=self.application,
            spei_reference=cleaned.get("spei_reference"),
            paid_on=cleaned.get("paid_on"),
            amount=cleaned.get("amount"),
            clabe=cleaned.get("clabe"),
        )
        for field, field_messages in problems.items():
            for message in field_messages:
                self.add_error(field, message)
        return cleaned


class ConfirmForm(ActionForm):
    """Nothing to fill in: the POST itself is the confirmation."""


# What each action of `loans.workflow.STAFF_ACTIONS` asks for on its confirmation page.
ACTION_FORMS: dict[str, type[ActionForm]] = {
    "revisar": ConfirmForm,
    "devolver": ReturnForm,
    "rechazar": RejectForm,
    "aprobar": ConfirmForm,
    "pagar": PaymentForm,
}


def _perform(action: StaffAction, request: HttpRequest, application: LoanApplication, data: dict):
    ip_address = client_ip(request)
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
        # The page re-checked eligibility on the data last read; the approval reads them again
        # from the institute first (a network call, before any lock is taken).
        affiliate_refresh(affiliate=application.affiliate)
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
class LoanApplicationAdmin(PlainTextAdminMixin, admin.ModelAdmin):
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
            path(
                "<int:object_id>/actualizar-afiliado/",
                self.admin_site.admin_view(self.affiliate_refresh_view),
                name="loans_loanapplication_affiliate_refresh",
            ),
            *super().get_urls(),
        ]

    def actions_for(self, request: HttpRequest, application: LoanApplication) -> list[StaffAction]:
        return [
            action
            for action in STAFF_ACTIONS.values()
            if action.move.source == application.status
            and action.move.target in ALLOWED_TRANSITIONS[application.status]
            and request.user.has_perm(action.move.permission)
        ]

    def get_object(self, request, object_id, from_field=None):
        # What the page shows of the application's relations, in the same query.
        queryset = self.get_queryset(request).select_related(
            "affiliate__employer", "product", "analyst", "approver"
        )
        return queryset.filter(pk=object_id).first() if str(object_id).isdigit() else None

    def change_view(self, request, object_id, form_url="", extra_context=None):
        application = self.get_object(request, object_id)
        if application is None:
            raise Http404
        if not self.has_view_permission(request, application):
            raise PermissionDenied
        extra_context = {
            **(extra_context or {}),
            **review_context(application),
            "affiliate_refresh_url": reverse(
                "admin:loans_loanapplication_affiliate_refresh", args=[application.pk]
            ),
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
        action = STAFF_ACTIONS.get(action_name)
        if action is None or not request.user.has_perm(action.move.permission):
            raise PermissionDenied
        if not recently_authenticated(request):
            # A decision on someone's loan: the password again when the login is not recent
            # (allauth's page, which comes back here).
            raise ReauthenticationRequired()
        change_url = reverse("admin:loans_loanapplication_change", args=[application.pk])
        form = ACTION_FORMS[action.name](
            request.POST if request.method == "POST" else None, application=application
        )
        status = 200
        if request.method == "POST":
            status = 400
            if form.is_valid():
                try:
                    _perform(action, request, application, form.cleaned_data)
                except TransferInvalid as error:
                    # What was typed is wrong (found again under the lock): a 400, like the
                    # form's own checks, each message by its field.
                    for field, field_messages in error.errors.items():
                        for message in field_messages:
                            form.add_error(field, message)
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

    @method_decorator(require_POST)
    def affiliate_refresh_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Read the affiliate again from the institute's database: a button, because just
        looking at the page never calls the network."""
        application = get_object_or_404(
            LoanApplication.objects.select_related("affiliate"), pk=object_id
        )
        if not self.has_view_permission(request, application):
            raise PermissionDenied
        outcome = affiliate_refresh(affiliate=application.affiliate)
        self.message_user(
            request, outcome.message, messages.SUCCESS if outcome.refreshed else messages.WARNING
        )
        return HttpResponseRedirect(
            reverse("admin:loans_loanapplication_change", args=[application.pk])
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
    the contract and its signatures, the timeline and the audit chain.

    Bounded work whatever the size of the database and whoever answers on the network: the
    affiliate as last read from the institute (with its date; a button reads it again), the
    validation report kept since the document was stored, the last scheduled check of the
    audit chain. A constant number of queries, no network call, no write.
    """
    affiliate = application.affiliate
    snapshot = application.affiliate_snapshot or {}
    comparison = []
    for field, label in SNAPSHOT_FIELDS:
        then = snapshot.get(field, "")
        now = getattr(affiliate, field)
        comparison.append(
            {"label": label, "then": then, "now": now, "differs": _differs(then, now)}
        )
    eligibility = evaluate(
        affiliate=affiliate_facts(affiliate=affiliate, on=timezone.localdate()),
        product=product_terms(product=application.product),
        amount=application.amount,
        quincenas=application.quincenas,
    )
    contract = application_signed_contract(application)
    sealed = contract is not None and contract.kind == SEALED_CONTRACT_KIND
    return {
        "clabe_sharing": clabe_sharing(application),
        "status_with_seal": status_with_seal(application, sealed=sealed),
        "affiliate_as_of": format_synced_at(affiliate.synced_at),
        "comparison": comparison,
        "eligibility": eligibility,
        "documents": application.documents.filter(superseded_at__isnull=True).order_by("kind"),
        "contract": contract,
        "contract_report": contract.validation_report if contract else None,
        "events": application.events.select_related("actor").order_by("sequence"),
        "audit": AuditChainCheck.objects.order_by("-checked_at").first(),
    }


# How many of the other applications with the same CLABE the page names.
CLABE_SHARING_SHOWN = 20


def clabe_sharing(application: LoanApplication) -> dict | None:
    """The other affiliates' applications with this one's CLABE (`clabe_shared_with`): how
    many, the first folios with their pages, and whether the applicant confirmed the CLABE is
    theirs. None when there are none. Two queries whatever their number."""
    others = clabe_shared_with(clabe=application.clabe, affiliate_id=application.affiliate_id)
    folios = list(others.order_by("folio").values_list("pk", "folio")[: CLABE_SHARING_SHOWN + 1])
    if not folios:
        return None
    count = len(folios) if len(folios) <= CLABE_SHARING_SHOWN else others.count()
    return {
        "count": count,
        "last_digits": application.clabe[-4:],
        "others": [
            (folio, reverse("admin:loans_loanapplication_change", args=[pk]))
            for pk, folio in folios[:CLABE_SHARING_SHOWN]
        ],
        "more": count > CLABE_SHARING_SHOWN,
        "confirmed_at": application.clabe_shared_confirmed_at,
    }


def status_with_seal(application: LoanApplication, *, sealed: bool) -> str:
    """ "Aprobada, sello pendiente" while the seal task has not sealed the contract yet."""
    if application.is_sealed_state and not sealed:
        return _("%(status)s, sello pendiente") % {"status": application.get_status_display()}
    return application.get_status_display()


def _differs(then, now) -> bool:
    try:
        return Decimal(str(then)) != Decimal(str(now))
    except (InvalidOperation, ValueError):
        return str(then) != str(now)
