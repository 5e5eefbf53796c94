from datetime import date

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# A period longer than this is refused: the month-by-month tables would stop being readable.
MAX_MONTHS = 120


class MonthField(forms.CharField):
    """A month as the browser's <input type="month"> sends it: "2026-11"."""

    widget = forms.TextInput(attrs={"type": "month", "pattern": r"\d{4}-\d{2}"})

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            year, month = (int(part) for part in value.split("-"))
            return date(year, month, 1)
        except ValueError:
            raise forms.ValidationError(
                _("Escribe el mes como año y mes, por ejemplo 2026-11."), code="invalid"
            ) from None


class PeriodForm(forms.Form):
    desde = MonthField(label=gettext_lazy("Desde (mes)"), required=False)
    hasta = MonthField(label=gettext_lazy("Hasta (mes)"), required=False)

    def __init__(self, *args, default_first: date, default_last: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_first = default_first
        self.default_last = default_last
        # An unbound form shows the period the page shows.
        self.fields["desde"].initial = f"{default_first:%Y-%m}"
        self.fields["hasta"].initial = f"{default_last:%Y-%m}"

    def clean(self):
        data = super().clean()
        first = data.get("desde") or self.default_first
        last = data.get("hasta") or self.default_last
        if self.errors:
            return data
        if first > last:
            raise forms.ValidationError(
                _("El mes inicial debe ser anterior o igual al mes final."), code="order"
            )
        if (last.year - first.year) * 12 + last.month - first.month >= MAX_MONTHS:
            raise forms.ValidationError(
                _("Elige un periodo de hasta %(months)s meses.") % {"months": MAX_MONTHS},
                code="too_long",
            )
        data["first"], data["last"] = first, last
        return data
