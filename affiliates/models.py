"""Read model of the institute's affiliates, refreshed from the institutional database.

The portal never edits these rows by hand: `affiliates.sync` writes them from a source (the
Oracle views or a CSV file). What the portal owns is the link between an account and an
affiliate (`AffiliateLink`) and the record of attempts to make it (`LinkAttempt`).
"""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from affiliates.identifiers import validate_curp, validate_rfc


class Employer(models.Model):
    """A "dependencia": the public body the affiliate works (or worked) for."""

    code = models.CharField(_("clave"), max_length=20, unique=True)
    name = models.CharField(_("nombre"), max_length=200)

    class Meta:
        verbose_name = _("dependencia")
        verbose_name_plural = _("dependencias")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class AffiliateStatus(models.TextChoices):
    # Contributing worker.
    ACTIVE = "activo", _("Activo")
    # Receives a pension (disability, widowhood, etc.).
    PENSIONER = "pensionado", _("Pensionado")
    # Retired by age or years of service.
    RETIREE = "jubilado", _("Jubilado")
    # No longer affiliated: cannot link an account nor apply.
    TERMINATED = "baja", _("Baja")


class Sex(models.TextChoices):
    # Same letters as the CURP's 11th character, stored as readable words.
    MALE = "hombre", _("Hombre")
    FEMALE = "mujer", _("Mujer")
    NON_BINARY = "no_binario", _("No binario")


class DataSource(models.TextChoices):
    DATABASE = "base_institucional", _("Base de datos institucional")
    CSV = "csv", _("Archivo CSV")


class Affiliate(models.Model):
    number = models.CharField(_("número de afiliación"), max_length=20, unique=True)
    curp = models.CharField("CURP", max_length=18, unique=True, validators=[validate_curp])
    rfc = models.CharField("RFC", max_length=13, validators=[validate_rfc])
    given_names = models.CharField(_("nombre(s)"), max_length=120)
    first_surname = models.CharField(_("primer apellido"), max_length=120)
    second_surname = models.CharField(_("segundo apellido"), max_length=120, blank=True)
    birth_date = models.DateField(_("fecha de nacimiento"))
    sex = models.CharField(_("sexo"), max_length=12, choices=Sex.choices)
    email = models.EmailField(_("correo electrónico"), blank=True)
    phone = models.CharField(_("teléfono"), max_length=20, blank=True)
    status = models.CharField(
        _("estatus"), max_length=12, choices=AffiliateStatus.choices, db_index=True
    )
    employer = models.ForeignKey(
        Employer, on_delete=models.PROTECT, related_name="affiliates", verbose_name=_("dependencia")
    )
    municipality = models.CharField(_("municipio"), max_length=120, db_index=True)
    contribution_start = models.DateField(_("fecha de inicio de cotización"))
    base_salary = models.DecimalField(
        _("sueldo base de cotización quincenal"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    net_pay = models.DecimalField(
        _("neto quincenal"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    current_deductions = models.DecimalField(
        _("descuentos quincenales al Instituto"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    is_blocked = models.BooleanField(_("bloqueado"), default=False)
    blocked_reason = models.CharField(_("motivo del bloqueo"), max_length=300, blank=True)
    source = models.CharField(_("origen"), max_length=20, choices=DataSource.choices)
    synced_at = models.DateTimeField(_("actualizado desde el origen"))
    # Digest of the source row as last written; equal digest means the row is unchanged, so a
    # re-sync of 200,000 rows compares strings instead of every field.
    source_digest = models.CharField(max_length=64, editable=False)
    loans_digest = models.CharField(max_length=64, editable=False, blank=True)

    class Meta:
        verbose_name = _("afiliado")
        verbose_name_plural = _("afiliados")
        ordering = ["first_surname", "second_surname", "given_names"]
        indexes = [models.Index(fields=["rfc"]), models.Index(fields=["first_surname"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(base_salary__gte=0)
                & models.Q(net_pay__gte=0)
                & models.Q(current_deductions__gte=0),
                name="affiliate_amounts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.number})"

    @property
    def full_name(self) -> str:
        return " ".join(
            part for part in (self.given_names, self.first_surname, self.second_surname) if part
        )

    def seniority(self, on: date) -> tuple[int, int]:
        """Completed (years, months) of contributions on a date."""
        months = (on.year - self.contribution_start.year) * 12 + (
            on.month - self.contribution_start.month
        )
        if on.day < self.contribution_start.day:
            months -= 1
        months = max(months, 0)
        return divmod(months, 12)


class AffiliateLoan(models.Model):
    """A loan the affiliate already has with the institute, as the source reports it."""

    affiliate = models.ForeignKey(
        Affiliate, on_delete=models.CASCADE, related_name="loans", verbose_name=_("afiliado")
    )
    product_code = models.CharField(_("clave del producto"), max_length=20)
    original_amount = models.DecimalField(_("monto original"), max_digits=12, decimal_places=2)
    balance = models.DecimalField(_("saldo"), max_digits=12, decimal_places=2)
    installments_paid = models.PositiveIntegerField(_("pagos realizados"))
    installments_total = models.PositiveIntegerField(_("pagos totales"))
    quincenal_payment = models.DecimalField(_("pago quincenal"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("préstamo vigente")
        verbose_name_plural = _("préstamos vigentes")
        ordering = ["affiliate", "product_code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(original_amount__gte=0)
                & models.Q(balance__gte=0)
                & models.Q(quincenal_payment__gte=0),
                name="affiliate_loan_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(installments_paid__lte=models.F("installments_total")),
                name="affiliate_loan_paid_within_total",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_code} · {self.balance}"


class AffiliateLink(models.Model):
    """The one account that acts for an affiliate; one affiliate per account."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="affiliate_link",
        verbose_name=_("cuenta"),
    )
    affiliate = models.OneToOneField(
        Affiliate, on_delete=models.PROTECT, related_name="link", verbose_name=_("afiliado")
    )
    linked_at = models.DateTimeField(_("vinculada el"), auto_now_add=True)
    ip_address = models.GenericIPAddressField(_("dirección IP"), null=True, blank=True)
    # When the affiliate's address on file was told of the link (None: not yet, or no address).
    notice_sent_at = models.DateTimeField(_("aviso al afiliado enviado el"), null=True, blank=True)

    class Meta:
        verbose_name = _("vinculación de cuenta")
        verbose_name_plural = _("vinculaciones de cuentas")

    def __str__(self) -> str:
        return f"{self.user} → {self.affiliate.number}"


class LinkOutcome(models.TextChoices):
    # Written before the attempt is compared with anything, so that it already counts against
    # the limits while it runs; it becomes one of the others when it ends.
    PENDING = "en_curso", _("En curso")
    LINKED = "vinculada", _("Vinculada")
    NO_MATCH = "sin_coincidencia", _("Sin coincidencia")
    ALREADY_LINKED = "ya_vinculada", _("Afiliado ya vinculado a otra cuenta")
    ACCOUNT_HAS_LINK = "cuenta_vinculada", _("La cuenta ya tiene un afiliado")
    TERMINATED = "baja", _("Afiliado dado de baja")
    BLOCKED = "bloqueado", _("Afiliado bloqueado")
    RATE_LIMITED = "limite", _("Demasiados intentos")


class LinkAttempt(models.Model):
    """Every attempt to link an account, successful or not: the audit trail of linking."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        # Deleting an account must not erase the record of what it tried.
        on_delete=models.PROTECT,
        related_name="affiliate_link_attempts",
        verbose_name=_("cuenta"),
    )
    # What the person typed, normalised; kept to investigate abuse, never shown to others.
    curp_entered = models.CharField(_("CURP capturada"), max_length=18)
    number_entered = models.CharField(_("número capturado"), max_length=20)
    affiliate = models.ForeignKey(
        Affiliate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="link_attempts",
        verbose_name=_("afiliado"),
    )
    outcome = models.CharField(_("resultado"), max_length=20, choices=LinkOutcome.choices)
    ip_address = models.GenericIPAddressField(_("dirección IP"), null=True, blank=True)
    # What the per-address limit counts by: the address, or its /64 for IPv6 (one client
    # usually holds a whole /64). Empty without an address.
    ip_key = models.CharField(max_length=45, blank=True, editable=False)
    created_at = models.DateTimeField(_("fecha"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("intento de vinculación")
        verbose_name_plural = _("intentos de vinculación")
        ordering = ["-created_at"]
        indexes = [
            # The limits' counts: an account's, an address's recent attempts.
            models.Index(fields=["user", "created_at"], name="link_attempt_user_recent"),
            models.Index(fields=["ip_key", "created_at"], name="link_attempt_ip_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_outcome_display()}"
