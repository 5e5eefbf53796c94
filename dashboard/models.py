"""The program's figures, summed a month at a time (`dashboard.reporting` keeps them)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from loans.workflow import ApplicationStatus


class TallyDimension(models.TextChoices):
    """How `ProgramTally` rows break a month of received applications down."""

    TOTAL = "total", _("Total")
    PRODUCT = "product", _("Producto")
    EMPLOYER = "employer", _("Dependencia")
    MUNICIPALITY = "municipality", _("Municipio")
    # Rejected applications, by the code of their reason.
    REJECTION = "rejection", _("Motivo de rechazo")
    # Paid applications, by whole days from the signature to the payment.
    DAYS_TO_PAYMENT = "days_to_payment", _("Días de la firma al pago")


class ProgramTally(models.Model):
    """The program's figures for the applications received in one month, by current status and
    by one dimension: a summary that `dashboard.reporting` recomputes a month at a time, so that
    the managers' dashboard reads a few hundred rows instead of every application.
    """

    month = models.DateField(_("mes"))
    dimension = models.CharField(_("dimensión"), max_length=20, choices=TallyDimension.choices)
    # The product's code, the employer's code, the municipality, the reason's code, the days;
    # empty for the total.
    key = models.CharField(_("clave"), max_length=120, blank=True)
    status = models.CharField(_("estado"), max_length=20, choices=ApplicationStatus.choices)
    applications = models.PositiveIntegerField(_("solicitudes"))
    amount = models.DecimalField(_("monto solicitado"), max_digits=16, decimal_places=2)
    amount_paid = models.DecimalField(_("monto pagado"), max_digits=16, decimal_places=2)
    interest = models.DecimalField(_("interés proyectado"), max_digits=16, decimal_places=2)
    # Σ rate × amount and Σ quincenas × amount: weighted averages are these over Σ amount.
    rate_weight = models.DecimalField(max_digits=20, decimal_places=6)
    term_weight = models.DecimalField(max_digits=20, decimal_places=2)

    class Meta:
        verbose_name = _("cifra del programa")
        verbose_name_plural = _("cifras del programa")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "dimension", "key", "status"], name="dashboard_tally_unique"
            )
        ]
        indexes = [models.Index(fields=["dimension", "month"], name="dashboard_tally_dimension")]
        # Who may see the program's figures (Gerencia and superusers); nothing here is edited.
        default_permissions = ()
        permissions = [("view_dashboard", _("Puede ver el tablero del programa"))]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} · {self.dimension} · {self.key} · {self.status}"


class TallyMonth(models.Model):
    """A month of received applications whose `ProgramTally` rows are out of date: every
    transition marks its application's month stale in the same transaction, and the figures
    are recomputed before anyone reads them.
    """

    month = models.DateField(_("mes"), primary_key=True)
    stale = models.BooleanField(_("pendiente de recalcular"), default=True)
    refreshed_at = models.DateTimeField(_("recalculado"), null=True, blank=True)

    class Meta:
        verbose_name = _("mes de cifras")
        verbose_name_plural = _("meses de cifras")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"
