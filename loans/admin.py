"""Staff set up the loan products here: their rules and their seniority bands.

The model stores rates, shares and fractions as fractions of one (0.1367), as
`loans.amortization` takes them; staff think and type in percent, so the form shows and takes
percentages (13.67) and divides by 100 at this border, like the other forms of the portal. A
value above 100 is refused rather than guessed.
"""

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from affiliates.models import AffiliateStatus
from isseg_portal.formatting import HUNDRED, percent_text, pesos
from isseg_portal.plain_text import PlainTextAdminMixin
from loans.models import APPLICANT_STATUSES, LoanProduct, SeniorityBand


class PercentField(forms.DecimalField):
    """Shows and takes a percentage (13.67); cleans to the fraction the model stores (0.1367)."""

    def __init__(self, *, fraction_places: int, **kwargs) -> None:
        places = fraction_places - 2
        super().__init__(
            min_value=Decimal(0),
            max_value=HUNDRED,
            max_digits=3 + places,
            decimal_places=places,
            **kwargs,
        )

    def prepare_value(self, value):
        # Only the stored fraction is converted; what the person typed is shown back as typed.
        if isinstance(value, Decimal):
            return percent_text(value)
        return value

    def clean(self, value):
        percent = super().clean(value)
        return None if percent is None else percent / HUNDRED

    def has_changed(self, initial, data) -> bool:
        initial_percent = initial * HUNDRED if isinstance(initial, Decimal) else initial
        return super().has_changed(initial_percent, data)


class LoanProductForm(forms.ModelForm):
    # Check boxes instead of raw JSON: staff pick statuses, the model keeps their values.
    allowed_statuses = forms.MultipleChoiceField(
        label=_("estatus que pueden solicitarlo"),
        choices=[(status.value, status.label) for status in APPLICANT_STATUSES],
        widget=forms.CheckboxSelectMultiple,
        help_text=LoanProduct._meta.get_field("allowed_statuses").help_text,
    )

    annual_rate = PercentField(
        fraction_places=6,
        label=_("tasa de interés anual (%)"),
        help_text=_(
            "Tasa ordinaria anual, en porcentaje: escriba 13.67 para 13.67 % anual "
            "(hasta cuatro decimales)."
        ),
    )
    fund_rate = PercentField(
        fraction_places=6,
        label=_("aportación anual al Fondo Especial y Solidario (%)"),
        help_text=_(
            "Porcentaje del monto del préstamo que se aporta al Fondo por cada año o fracción "
            "de año del plazo: escriba 1 para 1 % anual; 0 si no hay aportación. Forma parte "
            "del CAT."
        ),
    )
    max_deduction_share = PercentField(
        fraction_places=4,
        label=_("máximo de descuentos sobre el neto (%)"),
        help_text=_(
            "Porcentaje del neto quincenal que pueden ocupar todos los descuentos al Instituto "
            "una vez sumado el pago del nuevo préstamo: escriba 30 para 30 %. Si el préstamo "
            "renueva otro del mismo producto, el pago del anterior deja de contar."
        ),
    )
    renewal_paid_fraction = PercentField(
        fraction_places=4,
        label=_("pagado mínimo para renovar (%)"),
        help_text=_(
            "Si el afiliado ya tiene un préstamo vigente de este mismo producto, porcentaje de "
            "sus pagos quincenales que debe haber cubierto para renovarlo (pagos realizados "
            "entre pagos totales): escriba 50 para la mitad. El saldo pendiente se descuenta "
            "del nuevo préstamo."
        ),
    )

    class Meta:
        model = LoanProduct
        fields = [
            "code",
            "name",
            "description",
            "allowed_statuses",
            "annual_rate",
            "interest_convention",
            "fund_rate",
            "min_quincenas",
            "max_quincenas",
            "min_amount",
            "max_amount",
            "min_seniority_months",
            "max_deduction_share",
            "pension_floor",
            "renewal_paid_fraction",
            "is_active",
            "valid_from",
            "valid_until",
        ]

    def clean_allowed_statuses(self) -> list[str]:
        # Stored in the order of AffiliateStatus, whatever order the boxes were ticked in.
        chosen = set(self.cleaned_data["allowed_statuses"])
        return [status.value for status in AffiliateStatus if status.value in chosen]


class SeniorityBandInline(PlainTextAdminMixin, admin.TabularInline):
    model = SeniorityBand
    fields = ["from_months", "salary_multiple"]
    extra = 1


class AvailabilityFilter(admin.SimpleListFilter):
    title = _("vigencia")
    parameter_name = "vigencia"

    def lookups(self, request, model_admin):
        return [("vigente", _("Se ofrece hoy")), ("no_vigente", _("No se ofrece hoy"))]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        available = LoanProduct.objects.available_on(today).values("pk")
        if self.value() == "vigente":
            return queryset.filter(pk__in=available)
        if self.value() == "no_vigente":
            return queryset.exclude(pk__in=available)
        return queryset


@admin.register(LoanProduct)
class LoanProductAdmin(PlainTextAdminMixin, admin.ModelAdmin):
    form = LoanProductForm
    inlines = [SeniorityBandInline]
    list_display = [
        "code",
        "name",
        "rate",
        "quincenas_range",
        "amount_range",
        "is_active",
        "validity",
    ]
    list_display_links = ["code", "name"]
    list_filter = ["is_active", AvailabilityFilter, "interest_convention"]
    search_fields = ["code", "name", "description"]
    search_help_text = _("Busca por clave, nombre o descripción.")
    fieldsets = [
        (None, {"fields": ["code", "name", "description", "allowed_statuses"]}),
        (
            _("Tasa y Fondo Especial y Solidario"),
            {"fields": ["annual_rate", "interest_convention", "fund_rate"]},
        ),
        (
            _("Plazo y monto"),
            {
                "fields": [
                    ("min_quincenas", "max_quincenas"),
                    ("min_amount", "max_amount"),
                    "min_seniority_months",
                ],
                "description": _(
                    "Además del monto máximo, el monto se limita por los rangos de antigüedad "
                    "(al final de la página): a partir de cierta antigüedad, hasta tantas veces "
                    "el sueldo base mensual. Aplica el rango con el mayor «desde» que el "
                    "afiliado ya alcanzó; por debajo del primero no hay monto. Sin rangos, "
                    "solo cuenta el monto máximo."
                ),
            },
        ),
        (
            _("Capacidad de pago y renovación"),
            {"fields": ["max_deduction_share", "pension_floor", "renewal_paid_fraction"]},
        ),
        (_("Vigencia"), {"fields": ["is_active", ("valid_from", "valid_until")]}),
    ]

    @admin.display(description=_("tasa anual"), ordering="annual_rate")
    def rate(self, obj: LoanProduct) -> str:
        return f"{percent_text(obj.annual_rate)} %"

    @admin.display(description=_("plazo (quincenas)"), ordering="max_quincenas")
    def quincenas_range(self, obj: LoanProduct) -> str:
        return f"{obj.min_quincenas}–{obj.max_quincenas}"

    @admin.display(description=_("monto"), ordering="max_amount")
    def amount_range(self, obj: LoanProduct) -> str:
        return f"{pesos(obj.min_amount)} – {pesos(obj.max_amount)}"

    @admin.display(description=_("vigencia"), ordering="valid_from")
    def validity(self, obj: LoanProduct) -> str:
        start = obj.valid_from.strftime("%d/%m/%Y")
        if obj.valid_until is None:
            return _("desde el %(start)s") % {"start": start}
        return _("del %(start)s al %(end)s") % {
            "start": start,
            "end": obj.valid_until.strftime("%d/%m/%Y"),
        }


from loans import admin_applications  # noqa: E402, F401 - registers the applications' admin
