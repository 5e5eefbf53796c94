"""Loan products: the rules the institute sets for each kind of personal loan.

A `LoanProduct` holds the values `loans.eligibility` applies (who may apply, rate, terms,
amounts, seniority, payment capacity, pension floor, renewal) and its `SeniorityBand` rows say
how many monthly salaries an affiliate may borrow for their seniority. Staff edit them in the
admin; every rate-like value is stored as a fraction (0.1367 means 13.67 %).
"""

import uuid
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from affiliates.models import AffiliateStatus
from loans.amortization import MAX_QUINCENAS, InterestConvention
from loans.workflow import (
    EDITABLE_STATUSES,
    SEALED_STATUSES,
    STATES,
    ApplicationStatus,
    signing_refusal,
)

# Who can hold a loan at all: an affiliate whose status is "baja" is no longer affiliated.
APPLICANT_STATUSES = (
    AffiliateStatus.ACTIVE,
    AffiliateStatus.PENSIONER,
    AffiliateStatus.RETIREE,
)

FRACTION_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))]
QUINCENAS_VALIDATORS = [MinValueValidator(1), MaxValueValidator(MAX_QUINCENAS)]

# InterestConvention is a plain StrEnum (loans.amortization imports no models); these are its
# values with the labels staff read.
INTEREST_CONVENTION_CHOICES = [
    (InterestConvention.NOMINAL.value, _("Nominal: tasa quincenal = tasa anual / 24")),
    (
        InterestConvention.EFFECTIVE.value,
        _("Efectiva: tasa quincenal = (1 + tasa anual)^(1/24) − 1"),
    ),
]


class LoanProductQuerySet(models.QuerySet["LoanProduct"]):
    def available_on(self, on: date) -> "LoanProductQuerySet":
        """Active products whose validity includes the day `on` (both ends inclusive)."""
        return self.filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=on),
            is_active=True,
            valid_from__lte=on,
        )


class LoanProduct(models.Model):
    code = models.CharField(
        _("clave"),
        # As long as AffiliateLoan.product_code: the institute's loans carry this code.
        max_length=20,
        unique=True,
        help_text=_(
            "Clave del producto en el sistema del Instituto (por ejemplo, PC). Debe coincidir "
            "con la clave de los préstamos vigentes de los afiliados, porque con ella se "
            "reconocen las renovaciones."
        ),
    )
    name = models.CharField(
        _("nombre"),
        max_length=200,
        help_text=_("Nombre que verán los solicitantes."),
    )
    description = models.TextField(
        _("descripción"),
        blank=True,
        help_text=_("Explicación breve para los solicitantes: a quién va dirigido y para qué."),
    )
    allowed_statuses = models.JSONField(
        _("estatus que pueden solicitarlo"),
        default=list,
        help_text=_("Solo los afiliados con alguno de estos estatus pueden solicitar el producto."),
    )
    annual_rate = models.DecimalField(
        _("tasa de interés anual"),
        max_digits=7,
        decimal_places=6,
        validators=FRACTION_VALIDATORS,
        help_text=_(
            "Tasa de interés ordinaria anual del préstamo (se guarda como fracción: 0.1367 es "
            "13.67 %)."
        ),
    )
    interest_convention = models.CharField(
        _("forma de aplicar la tasa"),
        max_length=12,
        choices=INTEREST_CONVENTION_CHOICES,
        default=InterestConvention.NOMINAL.value,
        help_text=_(
            "Nominal: la tasa quincenal es la tasa anual entre 24 (lo habitual). Efectiva: la "
            "tasa quincenal es la que, compuesta 24 veces, da la tasa anual."
        ),
    )
    min_quincenas = models.PositiveSmallIntegerField(
        _("plazo mínimo (quincenas)"),
        validators=QUINCENAS_VALIDATORS,
        help_text=_("Menor número de pagos quincenales que puede elegir el solicitante."),
    )
    max_quincenas = models.PositiveSmallIntegerField(
        _("plazo máximo (quincenas)"),
        validators=QUINCENAS_VALIDATORS,
        help_text=_("Mayor número de pagos quincenales que puede elegir el solicitante."),
    )
    min_amount = models.DecimalField(
        _("monto mínimo"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Monto más bajo que se puede solicitar, en pesos."),
    )
    max_amount = models.DecimalField(
        _("monto máximo"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_(
            "Monto más alto que se puede solicitar, en pesos, aunque el sueldo permita más."
        ),
    )
    min_seniority_months = models.PositiveSmallIntegerField(
        _("antigüedad mínima (meses)"),
        default=0,
        help_text=_(
            "Meses completos cotizando al Instituto que necesita el solicitante (15 años = 180)."
        ),
    )
    max_deduction_share = models.DecimalField(
        _("máximo de descuentos sobre el neto"),
        max_digits=5,
        decimal_places=4,
        validators=FRACTION_VALIDATORS,
        help_text=_(
            "Parte del neto quincenal que pueden ocupar todos los descuentos al Instituto una "
            "vez sumado el pago del nuevo préstamo (fracción: 0.30 es 30 %). Si el préstamo "
            "renueva otro, el pago del anterior deja de contar."
        ),
    )
    pension_floor = models.DecimalField(
        _("pensión neta mínima restante"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_(
            "Solo para pensionados y jubilados: pesos por quincena que deben quedarles de su "
            "pensión neta después de todos los descuentos al Instituto, incluido este préstamo. "
            "0 significa sin mínimo."
        ),
    )
    fund_rate = models.DecimalField(
        _("aportación anual al Fondo Especial y Solidario"),
        max_digits=7,
        decimal_places=6,
        default=Decimal("0"),
        validators=FRACTION_VALIDATORS,
        help_text=_(
            "Parte del monto del préstamo que se aporta al Fondo por cada año o fracción de año "
            "del plazo (fracción: 0.01 es 1 % anual). Forma parte del CAT."
        ),
    )
    renewal_paid_fraction = models.DecimalField(
        _("pagado mínimo para renovar"),
        max_digits=5,
        decimal_places=4,
        validators=FRACTION_VALIDATORS,
        help_text=_(
            "Si el afiliado ya tiene un préstamo vigente de este mismo producto, parte de sus "
            "pagos quincenales que debe haber cubierto para renovarlo, contada como pagos "
            "realizados entre pagos totales (fracción: 0.50 es la mitad). El saldo pendiente se "
            "descuenta del nuevo préstamo."
        ),
    )
    is_active = models.BooleanField(
        _("activo"),
        default=True,
        help_text=_("Desmárquelo para dejar de ofrecer el producto sin borrarlo."),
    )
    valid_from = models.DateField(
        _("vigente desde"),
        help_text=_("Primer día en que se ofrece el producto."),
    )
    valid_until = models.DateField(
        _("vigente hasta"),
        null=True,
        blank=True,
        help_text=_("Último día en que se ofrece el producto. Vacío: sin fecha de término."),
    )

    objects = LoanProductQuerySet.as_manager()

    class Meta:
        verbose_name = _("producto de préstamo")
        verbose_name_plural = _("productos de préstamo")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_quincenas__gte=1)
                & Q(min_quincenas__lte=models.F("max_quincenas"))
                & Q(max_quincenas__lte=MAX_QUINCENAS),
                name="loan_product_quincenas_range",
            ),
            models.CheckConstraint(
                condition=Q(min_amount__gt=0) & Q(min_amount__lte=models.F("max_amount")),
                name="loan_product_amount_range",
            ),
            models.CheckConstraint(
                condition=Q(annual_rate__gte=0)
                & Q(annual_rate__lte=1)
                & Q(fund_rate__gte=0)
                & Q(fund_rate__lte=1),
                name="loan_product_rates_fraction",
            ),
            models.CheckConstraint(
                condition=Q(max_deduction_share__gte=0)
                & Q(max_deduction_share__lte=1)
                & Q(renewal_paid_fraction__gte=0)
                & Q(renewal_paid_fraction__lte=1),
                name="loan_product_shares_fraction",
            ),
            models.CheckConstraint(
                condition=Q(pension_floor__gte=0), name="loan_product_pension_floor_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="loan_product_validity_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        super().clean()
        errors: dict[str, list[str]] = {}
        statuses = self.allowed_statuses
        if not isinstance(statuses, list) or not statuses:
            errors["allowed_statuses"] = [_("Elija al menos un estatus.")]
        else:
            valid = {str(status) for status in APPLICANT_STATUSES}
            unknown = [str(status) for status in statuses if status not in valid]
            if unknown:
                errors["allowed_statuses"] = [
                    _("Estatus no válidos: %(unknown)s. Use: %(valid)s.")
                    % {"unknown": ", ".join(unknown), "valid": ", ".join(sorted(valid))}
                ]
            elif len(set(statuses)) != len(statuses):
                errors["allowed_statuses"] = [_("Cada estatus debe aparecer una sola vez.")]
        if (
            self.min_quincenas is not None
            and self.max_quincenas is not None
            and self.min_quincenas > self.max_quincenas
        ):
            errors["max_quincenas"] = [_("El plazo máximo no puede ser menor que el mínimo.")]
        if (
            self.min_amount is not None
            and self.max_amount is not None
            and self.min_amount > self.max_amount
        ):
            errors["max_amount"] = [_("El monto máximo no puede ser menor que el mínimo.")]
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            errors["valid_until"] = [_("La fecha de término no puede ser anterior a la de inicio.")]
        if errors:
            raise ValidationError(errors)

    @property
    def annual_rate_percent(self) -> Decimal:
        return self.annual_rate * 100

    def is_available_on(self, on: date) -> bool:
        return (
            self.is_active
            and self.valid_from <= on
            and (self.valid_until is None or on <= self.valid_until)
        )


class SeniorityBand(models.Model):
    """From `from_months` of seniority on, a loan may reach `salary_multiple` monthly salaries.

    The band that applies is the one with the largest `from_months` not above the affiliate's
    seniority; monthly salary is twice the quincenal base salary.
    """

    product = models.ForeignKey(
        LoanProduct,
        on_delete=models.CASCADE,
        related_name="seniority_bands",
        verbose_name=_("producto"),
    )
    from_months = models.PositiveSmallIntegerField(
        _("desde (meses de antigüedad)"),
        help_text=_("Meses completos de antigüedad a partir de los cuales aplica este rango."),
    )
    salary_multiple = models.DecimalField(
        _("veces el sueldo mensual"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_(
            "Monto máximo en este rango, como múltiplo del sueldo base mensual (dos quincenas): "
            "4 significa cuatro sueldos mensuales."
        ),
    )

    class Meta:
        verbose_name = _("rango de antigüedad")
        verbose_name_plural = _("rangos de antigüedad")
        ordering = ["product", "from_months"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "from_months"], name="seniority_band_unique_start"
            ),
            models.CheckConstraint(
                condition=Q(salary_multiple__gt=0), name="seniority_band_multiple_positive"
            ),
        ]

    def __str__(self) -> str:
        return _("desde %(months)s meses: %(multiple)s× sueldo mensual") % {
            "months": self.from_months,
            "multiple": format(self.salary_multiple.normalize(), "f"),
        }


# Steps of the application wizard: quote, contact, bank account, documents, review.
WIZARD_STEPS = 5


class FolioCounter(models.Model):
    """The last folio number given in a year; locked while the next one is taken."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("contador de folios")
        verbose_name_plural = _("contadores de folios")

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class RejectionReason(models.TextChoices):
    NOT_ELIGIBLE = "no_elegible", _("No cumple las reglas del producto")
    DOCUMENTS = "documentos", _("Documentos ilegibles, incompletos o que no corresponden")
    IDENTITY = "identidad", _("Los datos no corresponden al afiliado")
    CAPACITY = "capacidad", _("Capacidad de pago insuficiente")
    OTHER = "otro", _("Otro motivo")


class LoanApplication(models.Model):
    """An application for a loan. Its status changes only through `loans.services`."""

    # Opaque identifier for URLs; the folio is for people.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    folio = models.CharField(_("folio"), max_length=20, unique=True, editable=False)
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="loan_applications",
        verbose_name=_("solicitante"),
    )
    affiliate = models.ForeignKey(
        "affiliates.Affiliate",
        on_delete=models.PROTECT,
        related_name="loan_applications",
        verbose_name=_("afiliado"),
    )
    product = models.ForeignKey(
        LoanProduct,
        on_delete=models.PROTECT,
        related_name="applications",
        verbose_name=_("producto"),
    )
    status = models.CharField(
        _("estado"),
        max_length=20,
        choices=ApplicationStatus.choices,
        default=ApplicationStatus.DRAFT,
        editable=False,
        db_index=True,
    )
    status_changed_at = models.DateTimeField(_("cambio de estado"), editable=False)
    # The quote as the applicant saw it: the product's terms may change later.
    amount = models.DecimalField(_("monto solicitado"), max_digits=12, decimal_places=2)
    quincenas = models.PositiveSmallIntegerField(_("plazo en quincenas"))
    annual_rate = models.DecimalField(_("tasa anual"), max_digits=8, decimal_places=6)
    interest_convention = models.CharField(
        _("convención de interés"), max_length=10, choices=INTEREST_CONVENTION_CHOICES
    )
    fund_rate = models.DecimalField(_("aportación anual al Fondo"), max_digits=8, decimal_places=6)
    payment = models.DecimalField(_("pago quincenal"), max_digits=12, decimal_places=2)
    cat = models.DecimalField(_("CAT (%)"), max_digits=6, decimal_places=1)
    previous_balance = models.DecimalField(
        _("saldo anterior descontado"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    net_to_receive = models.DecimalField(_("monto a recibir"), max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(_("creada"), auto_now_add=True)
    # What the applicant fills in through the wizard (loans.services.application_save_*).
    # The affiliate's data as eligibility used them when the application started: the read
    # model is refreshed later, and staff must see what the decision was based on.
    affiliate_snapshot = models.JSONField(
        _("datos del afiliado al solicitar"), default=dict, blank=True, editable=False
    )
    phone = models.CharField(_("teléfono"), max_length=10, blank=True)
    email = models.EmailField(_("correo electrónico"), blank=True)
    clabe = models.CharField("CLABE", max_length=18, blank=True)
    # Named by the CLABE's first three digits when it was saved.
    bank_name = models.CharField(_("banco"), max_length=120, blank=True)
    account_is_own = models.BooleanField(
        _("la cuenta está a nombre del solicitante"), default=False
    )
    # The CLABE was already in another affiliate's application when it was saved, and the
    # applicant confirmed it is theirs then (loans.services.application_save_bank_account).
    clabe_shared_confirmed_at = models.DateTimeField(
        _("confirmó que la CLABE compartida es suya"), null=True, blank=True, editable=False
    )
    privacy_accepted_at = models.DateTimeField(
        _("aceptó el aviso de privacidad"), null=True, blank=True
    )
    terms_accepted_at = models.DateTimeField(_("aceptó las condiciones"), null=True, blank=True)
    # The last wizard step whose data are saved, 0 to WIZARD_STEPS; the next one is open.
    completed_step = models.PositiveSmallIntegerField(
        _("último paso completado"),
        default=0,
        validators=[MaxValueValidator(WIZARD_STEPS)],
    )
    # The draft is complete and waits for the signature. Not a state: the status stays draft
    # until the applicant signs; changing any data afterwards clears it.
    completed_at = models.DateTimeField(_("completa desde"), null=True, blank=True)
    # Staff who handled it (loans.services.review): separation of duties compares them.
    analyst = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("analista"),
    )
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("autorizó"),
    )
    # Facts kept for the program's figures (loans.reporting), set by the services: where the
    # applicant worked when the application started, the interest its schedule projects, when
    # it was last signed (the contract's date) and, when rejected, the reason's code.
    employer = models.ForeignKey(
        "affiliates.Employer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("dependencia al solicitar"),
    )
    municipality = models.CharField(
        _("municipio al solicitar"), max_length=120, blank=True, editable=False
    )
    total_interest = models.DecimalField(
        _("interés proyectado"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        editable=False,
    )
    signed_at = models.DateTimeField(_("firmada"), null=True, blank=True, editable=False)
    rejection_reason = models.CharField(
        _("motivo de rechazo"),
        max_length=20,
        choices=RejectionReason.choices,
        blank=True,
        editable=False,
    )

    class Meta:
        verbose_name = _("solicitud de préstamo")
        verbose_name_plural = _("solicitudes de préstamo")
        ordering = ["-created_at"]
        # The program's figures are recomputed a month of received applications at a time.
        indexes = [
            models.Index(fields=["created_at"], name="loan_application_created"),
            # The staff's list is ordered by how long each has waited in its state.
            models.Index(fields=["status_changed_at"], name="loan_application_waiting"),
        ]
        permissions = [
            ("review_loanapplication", _("Puede revisar, devolver y rechazar solicitudes")),
            ("approve_loanapplication", _("Puede aprobar solicitudes")),
            ("pay_loanapplication", _("Puede registrar pagos y exportar archivos de Tesorería")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(net_to_receive__gte=0) & Q(payment__gt=0),
                name="loan_application_amounts_positive",
            ),
            models.CheckConstraint(
                condition=Q(completed_step__lte=WIZARD_STEPS),
                name="loan_application_completed_step_range",
            ),
        ]

    def __str__(self) -> str:
        return self.folio

    @property
    def is_editable(self) -> bool:
        """The applicant may change its data: a draft, or one returned for correction."""
        return self.status in EDITABLE_STATUSES

    @property
    def is_signable(self) -> bool:
        """Complete and editable: the applicant may sign (again, when it was returned)."""
        return self.signing_refusal is None

    @property
    def signing_refusal(self) -> str | None:
        """Why it cannot be signed now, for the applicant (`workflow.signing_refusal`)."""
        return signing_refusal(
            folio=self.folio, status=self.status, complete=self.completed_at is not None
        )

    @property
    def is_sealed_state(self) -> bool:
        """Approved or paid: its contract carries, or is about to carry, the institute's seal."""
        return self.status in SEALED_STATUSES

    @property
    def status_tone(self) -> str:
        """How its status badge looks to the applicant (`workflow.STATES`)."""
        return STATES[self.status].tone.value


class ApplicationEvent(models.Model):
    """One state change of an application: the audit trail, chained by hashes.

    Written only by `loans.services`, in the same transaction as the change it records, and
    never edited: `python manage.py verify_audit` detects an edited or deleted row.
    """

    # Position in the portal-wide chain, 1, 2, 3, ... without gaps.
    sequence = models.PositiveBigIntegerField(_("secuencia"), unique=True, editable=False)
    application = models.ForeignKey(
        LoanApplication,
        on_delete=models.PROTECT,
        related_name="events",
        verbose_name=_("solicitud"),
    )
    # Empty for the event that creates the application.
    from_status = models.CharField(
        _("estado anterior"), max_length=20, choices=ApplicationStatus.choices, blank=True
    )
    to_status = models.CharField(
        _("estado nuevo"), max_length=20, choices=ApplicationStatus.choices
    )
    # Empty when the system acted (an expiry, a task).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("quién"),
    )
    reason = models.TextField(_("motivo"), blank=True)
    ip_address = models.GenericIPAddressField(_("dirección IP"), null=True, blank=True)
    created_at = models.DateTimeField(_("fecha"), editable=False)
    previous_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, unique=True, editable=False)

    class Meta:
        verbose_name = _("evento de solicitud")
        verbose_name_plural = _("eventos de solicitudes")
        ordering = ["sequence"]
        indexes = [models.Index(fields=["application", "sequence"])]

    def __str__(self) -> str:
        return f"{self.sequence}: {self.from_status or '-'} → {self.to_status}"


class AuditChainHead(models.Model):
    """The last event of the chain: one row, locked while an event is appended.

    Without it, deleting the newest event would leave a shorter chain that still verifies.
    """

    last_sequence = models.PositiveBigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("cabeza de la cadena de auditoría")
        verbose_name_plural = _("cabeza de la cadena de auditoría")

    def __str__(self) -> str:
        return f"{self.last_sequence}: {self.last_hash[:12]}"


class AuditChainCheck(models.Model):
    """One verification of the whole audit chain against its head, run on a schedule
    (`operations.tasks.audit_chain_check`): pages show the last one and its time instead of
    reading every event on each view."""

    checked_at = models.DateTimeField(_("verificada"), db_index=True)
    events_checked = models.PositiveBigIntegerField(_("eventos verificados"))
    intact = models.BooleanField(_("íntegra"))
    # Where the first problem was found, and what it is; empty when intact.
    problem_sequence = models.PositiveBigIntegerField(_("evento con problema"), null=True)
    problem = models.TextField(_("problema"), blank=True)

    class Meta:
        verbose_name = _("verificación de la cadena de auditoría")
        verbose_name_plural = _("verificaciones de la cadena de auditoría")
        ordering = ["-checked_at"]

    def __str__(self) -> str:
        return f"{self.checked_at:%Y-%m-%d %H:%M} · {'íntegra' if self.intact else 'ALTERADA'}"


class DocumentKind(models.TextChoices):
    IDENTIFICATION = "identificacion", _("Identificación oficial")
    PROOF_OF_ADDRESS = "comprobante_domicilio", _("Comprobante de domicilio")
    BANK_STATEMENT = "estado_cuenta", _("Estado de cuenta con la CLABE")


def supporting_document_path(instance: "SupportingDocument", filename: str) -> str:
    """solicitudes/<application public_id>/<uuid4>.<ext>: nothing of the user's file name.

    The extension comes from the content type the portal detected, not from the upload.
    """
    extension = SupportingDocument.EXTENSIONS[instance.content_type]
    return f"solicitudes/{instance.application.public_id}/{uuid.uuid4().hex}.{extension}"


class SupportingDocument(models.Model):
    """A file the applicant uploaded to support an application.

    Replacing a document adds a row. In a draft never signed the previous one of its kind is
    deleted with its file (nobody but the applicant saw it); once the application was signed
    it stays, marked as superseded, so staff can see what was there at any moment. Written
    only by `loans.services.application_add_document`, after `loans.documents` checked the
    content.
    """

    EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}

    # Opaque identifier for the download URL.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    application = models.ForeignKey(
        LoanApplication,
        on_delete=models.PROTECT,
        related_name="documents",
        verbose_name=_("solicitud"),
    )
    kind = models.CharField(_("tipo"), max_length=30, choices=DocumentKind.choices)
    file = models.FileField(_("archivo"), upload_to=supporting_document_path, max_length=200)
    # As the applicant named it, cleaned; shown to people, never used as a path.
    original_name = models.CharField(_("nombre original"), max_length=120)
    content_type = models.CharField(
        _("tipo de contenido"),
        max_length=40,
        choices=[(value, value) for value in EXTENSIONS],
    )
    size = models.PositiveIntegerField(_("tamaño (bytes)"))
    sha256 = models.CharField("SHA-256", max_length=64)
    uploaded_at = models.DateTimeField(_("subido"))
    superseded_at = models.DateTimeField(_("reemplazado"), null=True, blank=True)

    class Meta:
        verbose_name = _("documento de soporte")
        verbose_name_plural = _("documentos de soporte")
        ordering = ["application", "kind", "-uploaded_at"]
        constraints = [
            # One current document of each kind per application (the service locks first;
            # this is the backstop).
            models.UniqueConstraint(
                fields=["application", "kind"],
                condition=Q(superseded_at__isnull=True),
                name="supporting_document_one_current_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application} · {self.get_kind_display()} · {self.original_name}"

    @property
    def is_current(self) -> bool:
        return self.superseded_at is None


class Payment(models.Model):
    """The SPEI transfer that paid a loan, as Tesorería registered it. One per application."""

    application = models.OneToOneField(
        LoanApplication,
        on_delete=models.PROTECT,
        related_name="transfer",
        verbose_name=_("solicitud"),
    )
    spei_reference = models.CharField(_("referencia SPEI"), max_length=40)
    paid_on = models.DateField(_("fecha de pago"))
    amount = models.DecimalField(_("monto"), max_digits=12, decimal_places=2)
    clabe = models.CharField("CLABE", max_length=18)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("registró"),
    )
    registered_at = models.DateTimeField(_("registrado"))

    class Meta:
        verbose_name = _("pago")
        verbose_name_plural = _("pagos")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            # One transfer pays one loan: its reference (SPEI's clave de rastreo) is registered
            # once, whatever its case. Payments imported without one are not compared.
            models.UniqueConstraint(
                Upper("spei_reference"),
                condition=~Q(spei_reference=""),
                name="payment_spei_reference_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application} · {self.spei_reference}"


class Notification(models.Model):
    """What the applicant is told about one event of their application: by email and in the
    portal. One per event (the constraint is what makes "never twice" hold)."""

    event = models.OneToOneField(
        ApplicationEvent,
        on_delete=models.PROTECT,
        related_name="notification",
        verbose_name=_("evento"),
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="loan_notifications",
        verbose_name=_("destinatario"),
    )
    title = models.CharField(_("título"), max_length=200)
    body = models.TextField(_("texto"))
    created_at = models.DateTimeField(_("creada"))
    emailed_at = models.DateTimeField(_("enviada por correo"), null=True, blank=True)
    read_at = models.DateTimeField(_("leída"), null=True, blank=True)

    class Meta:
        verbose_name = _("aviso")
        verbose_name_plural = _("avisos")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class StaffDigest(models.Model):
    """One digest of newly signed applications sent to the analysts: it covered the events up
    to `last_sequence`, so the next one starts after it and none is announced twice."""

    last_sequence = models.PositiveBigIntegerField(_("último evento incluido"), unique=True)
    applications = models.PositiveIntegerField(_("solicitudes incluidas"))
    sent_at = models.DateTimeField(_("enviado"))

    class Meta:
        verbose_name = _("resumen para el personal")
        verbose_name_plural = _("resúmenes para el personal")
        ordering = ["-last_sequence"]

    def __str__(self) -> str:
        return f"{self.sent_at:%Y-%m-%d %H:%M} · {self.applications}"
