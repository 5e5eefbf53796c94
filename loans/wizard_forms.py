"""Forms of the application wizard: they parse and explain; `loans.services` decides and saves.

Each form turns what a person typed (spaces, dashes, a "+52", a CLABE copied in groups of
digits) into the value the service expects, or says in Spanish what to fix.
"""

import re
from decimal import Decimal

from clabe import BANKS, compute_control_digit
from django import forms
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from loans.amortization import MAX_AMOUNT, MAX_QUINCENAS
from loans.documents import MAX_DOCUMENT_BYTES, size_message
from loans.models import DocumentKind

# What people put between digits when they copy a number: spaces, dashes, dots, parentheses.
_SEPARATORS = re.compile(r"[\s\-.()/]")


class StartForm(forms.Form):
    """What the simulator's "Solicitar este préstamo" button posts."""

    product = forms.CharField(
        max_length=20,
        error_messages={"required": _("Elige en el simulador el préstamo que quieres solicitar.")},
    )
    amount = forms.CharField(
        max_length=30,
        error_messages={"required": _("Escribe en el simulador el monto que quieres solicitar.")},
    )
    quincenas = forms.IntegerField(
        min_value=1,
        max_value=MAX_QUINCENAS,
        error_messages={
            "required": _("Elige en el simulador el plazo en quincenas."),
            "invalid": _("El plazo debe ser un número entero de quincenas."),
            "min_value": _("El plazo debe ser de al menos una quincena."),
            "max_value": _("El plazo no puede pasar de %(limit_value)s quincenas."),
        },
    )

    def clean_product(self) -> str:
        return self.cleaned_data["product"].strip()

    def clean_amount(self) -> Decimal:
        # "$60,000.00" as people write it, or 60000 as the simulator sends it.
        text = re.sub(r"[\s$,]", "", self.cleaned_data["amount"])
        if not re.fullmatch(r"\d+(\.\d{1,2})?", text):
            raise forms.ValidationError(
                _("El monto debe ser una cantidad en pesos, con centavos a lo más, como 60000.00."),
                code="invalid",
            )
        amount = Decimal(text)
        if not 0 < amount <= MAX_AMOUNT:
            raise forms.ValidationError(
                _("El monto debe ser mayor que cero y menor que %(limit)s."),
                code="range",
                params={"limit": f"${MAX_AMOUNT:,}"},
            )
        return amount


class ContactForm(forms.Form):
    phone = forms.CharField(
        label=_("Teléfono celular o fijo"),
        max_length=25,
        help_text=_("10 dígitos, con lada. Por ejemplo: 473 123 4567."),
        error_messages={"required": _("Escribe tu teléfono.")},
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel-national"}),
    )
    email = forms.EmailField(
        label=_("Correo electrónico"),
        max_length=254,
        help_text=_("El Instituto lo usará para comunicarse contigo sobre esta solicitud."),
        error_messages={
            "required": _("Escribe tu correo electrónico."),
            "invalid": _("Escribe un correo electrónico válido, como nombre@ejemplo.com."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_phone(self) -> str:
        typed = self.cleaned_data["phone"]
        digits = _SEPARATORS.sub("", typed)
        # The country code, written as people do: +52 or 52 before the ten digits.
        if digits.startswith("+52"):
            digits = digits[3:]
        elif digits.startswith("52") and len(digits) == 12:
            digits = digits[2:]
        if not digits.isdigit():
            raise forms.ValidationError(
                _("El teléfono solo lleva números: escribe sus 10 dígitos, como 473 123 4567."),
                code="not_digits",
            )
        if len(digits) != 10:
            raise forms.ValidationError(
                _("El teléfono debe tener 10 dígitos con lada; escribiste %(count)s."),
                code="length",
                params={"count": len(digits)},
            )
        if digits[0] in "01":
            raise forms.ValidationError(
                _("Revisa tu teléfono: en México ninguna lada empieza con %(digit)s."),
                code="area_code",
                params={"digit": digits[0]},
            )
        return digits

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class BankAccountForm(forms.Form):
    clabe = forms.CharField(
        label="CLABE",
        max_length=30,
        help_text=_(
            "Los 18 dígitos de la Clave Bancaria Estandarizada de tu cuenta. Está en tu estado "
            "de cuenta o en la aplicación de tu banco. Ahí depositaremos tu préstamo por SPEI."
        ),
        error_messages={"required": _("Escribe la CLABE de tu cuenta.")},
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    account_is_own = forms.BooleanField(
        label=_("Declaro que la cuenta está a mi nombre."),
        help_text=_(
            "El Instituto solo deposita en cuentas de la persona que solicita el préstamo."
        ),
        error_messages={
            "required": _("Marca la casilla para declarar que la cuenta está a tu nombre.")
        },
    )

    def __init__(self, *args, clabe_shared: bool = False, **kwargs):
        """`clabe_shared`: the CLABE is in another person's application, the applicant is
        asked to confirm it is theirs (the service refuses it without the confirmation)."""
        super().__init__(*args, **kwargs)
        if clabe_shared:
            self.fields["clabe_shared_confirmed"] = forms.BooleanField(
                label=_("Confirmo que esta CLABE es mía."),
                help_text=_(
                    "Esta CLABE ya aparece en la solicitud de otra persona. Confírmala solo si "
                    "la cuenta está a tu nombre; el Instituto lo revisará antes de pagar."
                ),
                required=False,
            )

    def clean_clabe(self) -> str:
        digits = _SEPARATORS.sub("", self.cleaned_data["clabe"])
        if not digits.isdigit():
            raise forms.ValidationError(
                _("La CLABE solo lleva números: escribe sus 18 dígitos, sin letras ni símbolos."),
                code="not_digits",
            )
        if len(digits) != 18:
            raise forms.ValidationError(
                _("La CLABE tiene 18 dígitos; escribiste %(count)s. Revísala."),
                code="length",
                params={"count": len(digits)},
            )
        if digits[:3] not in BANKS:
            raise forms.ValidationError(
                _(
                    "Los primeros tres dígitos de la CLABE (%(code)s) no corresponden a ningún "
                    "banco. Revisa que la hayas copiado bien."
                ),
                code="unknown_bank",
                params={"code": digits[:3]},
            )
        if digits[-1] != compute_control_digit(digits):
            raise forms.ValidationError(
                _(
                    "El último dígito de la CLABE (el dígito verificador) no corresponde a los "
                    "demás: algún dígito está mal copiado. Revísala en tu estado de cuenta."
                ),
                code="check_digit",
            )
        return digits


class DocumentForm(forms.Form):
    """One supporting document of the kind its page section asks for."""

    kind = forms.ChoiceField(
        choices=DocumentKind.choices,
        widget=forms.HiddenInput,
        error_messages={
            "required": _("Elige qué documento estás subiendo."),
            "invalid_choice": _("Elige qué documento estás subiendo."),
        },
    )
    file = forms.FileField(
        label=_("Archivo"),
        help_text=_("PDF, JPG o PNG de hasta 5 MB."),
        max_length=255,
        error_messages={
            "required": _("Elige el archivo que vas a subir."),
            "empty": _("El archivo está vacío. Elige otro."),
            "invalid": _("No recibimos un archivo. Elige uno y vuelve a intentarlo."),
            "missing": _("No recibimos un archivo. Elige uno y vuelve a intentarlo."),
            "max_length": _("El nombre del archivo es demasiado largo; cámbialo por uno corto."),
        },
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"}
        ),
    )

    def __init__(self, *args, kind: str, **kwargs):
        # One form per kind on the same page: ids must differ, the field names need not.
        super().__init__(*args, auto_id=f"id_{kind}_%s", initial={"kind": kind}, **kwargs)
        self.kind = kind

    def clean_file(self):
        file = self.cleaned_data["file"]
        # Cheap first; what the content is, loans.documents checks in the service.
        if file.size > MAX_DOCUMENT_BYTES:
            raise forms.ValidationError(size_message(file.size), code="too_big")
        return file


class ReviewForm(forms.Form):
    privacy_accepted = forms.BooleanField(
        label=_(
            "He leído el aviso de privacidad integral y acepto que el Instituto trate mis datos "
            "para tramitar este préstamo."
        ),
        error_messages={"required": _("Para continuar, acepta el aviso de privacidad.")},
    )
    terms_accepted = forms.BooleanField(
        label=_(
            "Confirmo que mis datos son correctos y acepto las condiciones del préstamo que se "
            "muestran arriba: monto, plazo, pago quincenal, tasa y CAT."
        ),
        error_messages={"required": _("Para continuar, acepta las condiciones del préstamo.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Rendered as HTML by includes/form_field.html; built here, where URLs resolve.
        self.fields["privacy_accepted"].help_text = format_html(
            '<a href="{}">{}</a>',
            reverse("privacy_notice_full"),
            _("Lee el aviso de privacidad integral"),
        )
