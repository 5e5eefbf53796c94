"""Amounts of money as Mexican users read them: `pesos(Decimal("9500"))` gives "$9,500.00"."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")


def pesos(value: Decimal | int | str | None) -> str:
    """Pesos with two decimals (half up), comma thousands and a point for centavos.

    Independent of the active locale on purpose: "$9,500.00" is how the institute, the banks
    and the paycheck write it, while Django's es-MX number format would differ. An empty or
    unreadable value gives "", as a template filter should.
    """
    if value is None or value == "":
        return ""
    try:
        # Through str() so a float never brings its binary noise into the rounding.
        amount = Decimal(str(value))
        if not amount.is_finite():
            return ""
        amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError, TypeError):
        return ""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"
