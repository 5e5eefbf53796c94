"""Amounts in pesos as people type them, for any app's forms."""

import re

from django import forms

# "60,000.00" as people write it: thousands grouped by commas, a point before the centavos.
_GROUPED = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d*)?")
# What is left once "$", spaces and the thousands commas are gone: digits and one point.
_PLAIN = re.compile(r"\d+(?:\.\d*)?|\.\d+")
# Every kind of space a phone keyboard or a copied amount brings (no-break, thin, narrow).
_SPACES = re.compile(r"\s+", re.UNICODE)


class PesosField(forms.DecimalField):
    """An amount in pesos, typed by hand: "60000", "60,000.00", "$60000" or "$ 60,000".

    Commas are read as thousands separators only where they group thousands, so "60,5" or
    "60000,00" (a comma for centavos) is refused with a message instead of silently becoming
    605 or 6,000,000.
    """

    def to_python(self, value):
        if isinstance(value, str):
            text = _SPACES.sub("", value).replace("$", "")
            if _GROUPED.fullmatch(text):
                text = text.replace(",", "")
            if text and not _PLAIN.fullmatch(text):
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            value = text
        return super().to_python(value)
