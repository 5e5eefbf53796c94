"""Forms of the loans app: the public simulator.

The simulator's form is also what an application starts from, so it checks the chosen product's
own limits (amount and term) and nothing about the person: whether *this* affiliate may borrow
that much is `loans.eligibility`'s answer, shown next to the results.
"""

from datetime import date

from django import forms
from django.utils.translation import gettext_lazy as _

from isseg_portal.formatting import pesos
from isseg_portal.money_input import PesosField
from loans.models import LoanProduct
from loans.selectors import products_available


class _LoadedChoiceIterator(forms.models.ModelChoiceIterator):
    """The field's choices from the products already read, not from a new query."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for product in self.field.products:
            yield self.choice(product)

    def __len__(self) -> int:
        return len(self.field.products) + (self.field.empty_label is not None)

    def __bool__(self) -> bool:
        return self.field.empty_label is not None or bool(self.field.products)


class ProductChoiceField(forms.ModelChoiceField):
    """A product by code, among `products` (a list the form read once): rendering the choices
    and cleaning the value ask the database nothing more."""

    iterator = _LoadedChoiceIterator

    def __init__(self, *args, **kwargs):
        self.products: list[LoanProduct] = []
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj: LoanProduct) -> str:
        return obj.name

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, LoanProduct):
            value = value.code
        for product in self.products:
            if product.code == str(value):
                return product
        raise forms.ValidationError(
            self.error_messages["invalid_choice"],
            code="invalid_choice",
            params={"value": value},
        )


def simulator_products(*, on: date, affiliate_status: str | None) -> list[LoanProduct]:
    """The products on offer on `on`; for a linked affiliate only those their status may ask
    for, so a pensioner is never offered a product for active workers. Read once (with their
    bands): the form's choices, its lookups and the view's offers all use this list."""
    available = list(products_available(on=on))
    if affiliate_status is None:
        return available
    # allowed_statuses is a JSON list: a "contains" lookup is not portable across the databases
    # the portal runs on (SQLite, Oracle), and there are only a few products.
    return [product for product in available if affiliate_status in product.allowed_statuses]


class SimulatorForm(forms.Form):
    """Product, amount and term of a simulation; `data` comes from the query string.

    `products` comes from `simulator_products`. Amount and term are checked against the chosen
    product's limits; the help texts state the limits of the chosen product (else the first).
    """

    product = ProductChoiceField(
        label=_("Préstamo"),
        queryset=LoanProduct.objects.none(),
        # By code (?product=PC): the institute's own key, readable in a shared address, and what
        # the application's start (loans:application_start) receives.
        to_field_name="code",
        empty_label=None,
        error_messages={
            "required": _("Elige un préstamo de la lista."),
            "invalid_choice": _("Ese préstamo no está disponible: elige uno de la lista."),
        },
    )
    amount = PesosField(
        label=_("Monto que quieres pedir"),
        # No max_digits: an amount too large is refused with the product's maximum, in pesos.
        decimal_places=2,
        error_messages={
            "required": _("Escribe el monto que quieres pedir."),
            "invalid": _(
                "Escribe el monto en pesos, solo con números; por ejemplo 60000 o 60,000.00."
            ),
            "max_decimal_places": _("El monto puede llevar a lo más dos decimales (centavos)."),
        },
        # Text, not type="number": it must take "$60,000.00" as typed and show it back as typed.
        widget=forms.TextInput(
            attrs={"inputmode": "decimal", "autocomplete": "off", "spellcheck": "false"}
        ),
    )
    quincenas = forms.IntegerField(
        label=_("Plazo en quincenas"),
        error_messages={
            "required": _("Escribe el plazo en quincenas."),
            "invalid": _("Escribe el plazo como un número entero de quincenas; por ejemplo 48."),
        },
        # Text as well: a number input sends nothing for "48 q" and the typed value would be lost.
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def __init__(self, data=None, *, products: list[LoanProduct], **kwargs):
        super().__init__(data, **kwargs)
        self.products: list[LoanProduct] = list(products)
        field = self.fields["product"]
        field.queryset = LoanProduct.objects.filter(pk__in=[product.pk for product in products])
        field.products = self.products
        self.product = self._product_shown()
        if self.product is not None:
            self.fields["amount"].help_text = _(
                "Entre %(minimum)s y %(maximum)s. Puedes escribirlo con o sin comas."
            ) % {
                "minimum": pesos(self.product.min_amount),
                "maximum": pesos(self.product.max_amount),
            }
            self.fields["quincenas"].help_text = _(
                "De %(minimum)s a %(maximum)s quincenas. 24 quincenas = 1 año."
            ) % {"minimum": self.product.min_quincenas, "maximum": self.product.max_quincenas}
        else:
            self.fields["quincenas"].help_text = _("24 quincenas = 1 año.")

    def _product_shown(self) -> LoanProduct | None:
        """The product whose limits the help texts state: the one chosen, else the first."""
        chosen = self.data.get("product") if self.is_bound else self.initial.get("product")
        chosen_code = getattr(chosen, "code", chosen)
        for product in self.products:
            if product.code == chosen_code:
                return product
        return self.products[0] if self.products else None

    def clean(self):
        cleaned_data = super().clean()
        product = cleaned_data.get("product")
        amount = cleaned_data.get("amount")
        quincenas = cleaned_data.get("quincenas")
        if product is None:
            return cleaned_data
        if amount is not None and amount < product.min_amount:
            self.add_error(
                "amount",
                _("El monto mínimo de este préstamo es %(minimum)s.")
                % {"minimum": pesos(product.min_amount)},
            )
        elif amount is not None and amount > product.max_amount:
            self.add_error(
                "amount",
                _("El monto máximo de este préstamo es %(maximum)s.")
                % {"maximum": pesos(product.max_amount)},
            )
        if quincenas is not None and not (
            product.min_quincenas <= quincenas <= product.max_quincenas
        ):
            self.add_error(
                "quincenas",
                _("El plazo de este préstamo va de %(minimum)s a %(maximum)s quincenas.")
                % {"minimum": product.min_quincenas, "maximum": product.max_quincenas},
            )
        return cleaned_data
