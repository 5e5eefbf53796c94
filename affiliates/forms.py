from datetime import date

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from affiliates.identifiers import validate_curp
from isseg_portal.money_input import PesosField

ISO_DATE = "%Y-%m-%d"
# What a browser's date picker sends first; then what people type where there is no picker.
BIRTH_DATE_INPUT_FORMATS = [ISO_DATE, "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"]


class BirthDateInput(forms.DateInput):
    """`<input type="date">` that also shows a hand-typed dd/mm/aaaa again after an error.

    A browser's date input only accepts an ISO value, so a date typed by hand in a browser
    without a picker is re-rendered as ISO when it parses, and as typed when it does not.
    """

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format=ISO_DATE)

    def format_value(self, value):
        if isinstance(value, str) and value.strip():
            try:
                parsed = forms.DateField(input_formats=BIRTH_DATE_INPUT_FORMATS).to_python(value)
            except forms.ValidationError:
                return value
            return parsed.isoformat()
        return super().format_value(value)


class LinkForm(forms.Form):
    """The data that prove an account belongs to an affiliate: three that identify them, and
    the net amount of their last quincena, which only they and the institute know."""

    curp = forms.CharField(
        label="CURP",
        # Room for spaces and dashes as people copy it; it is normalised to 18 characters.
        max_length=30,
        help_text=_(
            "Tus 18 caracteres de la Clave Única de Registro de Población. Está en tu talón de "
            "pago, tu credencial para votar o tu acta de nacimiento. Puedes escribirla en "
            "minúsculas."
        ),
        error_messages={"required": _("Escribe tu CURP.")},
        widget=forms.TextInput(
            attrs={
                # No autocomplete: the portal is also used on shared computers at the institute.
                "autocomplete": "off",
                "autocapitalize": "characters",
                "spellcheck": "false",
            }
        ),
    )
    number = forms.CharField(
        label=_("Número de afiliación"),
        max_length=20,
        help_text=_(
            "Tu número de afiliado al Instituto. Aparece en tu talón de pago o en tu credencial "
            "del Instituto."
        ),
        error_messages={
            "required": _("Escribe tu número de afiliación."),
            "max_length": _(
                "El número de afiliación tiene como máximo %(limit_value)d caracteres."
            ),
        },
        widget=forms.TextInput(
            # Not inputmode="numeric": the institute's numbers may carry letters and dashes.
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )
    birth_date = forms.DateField(
        label=_("Fecha de nacimiento"),
        input_formats=BIRTH_DATE_INPUT_FORMATS,
        help_text=_(
            "La misma que aparece en tu CURP. Si no ves un calendario, escríbela como "
            "dd/mm/aaaa, por ejemplo 15/06/1975."
        ),
        error_messages={
            "required": _("Escribe tu fecha de nacimiento."),
            "invalid": _("Escribe tu fecha de nacimiento como dd/mm/aaaa, por ejemplo 15/06/1975."),
        },
        widget=BirthDateInput(attrs={"autocomplete": "bday"}),
    )

    net_pay = PesosField(
        label=_("Neto de tu última quincena"),
        max_digits=12,
        decimal_places=2,
        min_value=0,
        help_text=_(
            "Lo que recibiste en tu última quincena después de descuentos (el «neto a pagar» de "
            "tu talón de pago o de tu recibo de pensión), en pesos, por ejemplo 7,845.30. Basta "
            "con acertar al peso."
        ),
        error_messages={
            "required": _("Escribe el neto de tu última quincena."),
            "invalid": _(
                "Escribe el neto de tu última quincena en pesos, con números, por ejemplo 7,845.30."
            ),
            "min_value": _("El neto de tu última quincena no puede ser negativo."),
            "max_digits": _("Revisa el neto de tu última quincena: es demasiado grande."),
            "max_whole_digits": _("Revisa el neto de tu última quincena: es demasiado grande."),
            "max_decimal_places": _("Escribe el neto con dos decimales como máximo (centavos)."),
        },
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "inputmode": "decimal", "spellcheck": "false"}
        ),
    )

    def clean_curp(self) -> str:
        # Normalised (upper case, no spaces) and checked down to its check digit.
        return validate_curp(self.cleaned_data["curp"])

    def clean_birth_date(self) -> date:
        birth_date = self.cleaned_data["birth_date"]
        if birth_date.year < 1900 or birth_date > timezone.localdate():
            raise forms.ValidationError(
                _("Revisa tu fecha de nacimiento: %(date)s no es una fecha posible."),
                code="birth_date_range",
                params={"date": birth_date.strftime("%d/%m/%Y")},
            )
        return birth_date
