"""How the portal writes numbers for people and for spreadsheets, whatever the app.

- `pesos(Decimal("9500"))` gives "$9,500.00";
- `percent_text(Decimal("0.1367"))` gives "13.67" (a fraction as a percentage, no trailing
  zeros, never an exponent);
- `spreadsheet_safe("=HYPERLINK(…)")` gives "'=HYPERLINK(…)": a cell a spreadsheet would run as
  a formula is written as text.

Independent of the active locale on purpose: "$9,500.00" is how the institute, the banks and
the paycheck write it, while Django's es-MX number format would differ.
"""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from isseg_portal.plain_text import control_strip

CENT = Decimal("0.01")
HUNDRED = Decimal(100)

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def pesos(value: Decimal | int | str | None) -> str:
    """Pesos with two decimals (half up), comma thousands and a point for centavos.

    An empty or unreadable value gives "", as a template filter should.
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


def plain_number(value: Decimal) -> str:
    """2.00 -> "2", 2.50 -> "2.5", 13.6700 -> "13.67": as people write a number, never with an
    exponent (Decimal's normalize() alone would write 1E+1)."""
    return format(value.normalize(), "f")


def percent_text(fraction: Decimal) -> str:
    """A stored fraction as the percentage people read: 0.136700 -> "13.67"."""
    return plain_number(fraction * HUNDRED)


def spreadsheet_safe(value):
    """A text cell that starts like a formula, written as text (a leading apostrophe): a
    spreadsheet must not run what someone typed ("=HYPERLINK(…)"). A text also loses the
    control characters an XLSX file cannot hold (one stored before the portal cleaned free
    text would otherwise break the whole export). Other values pass as they are."""
    if not isinstance(value, str):
        return value
    value = control_strip(value)
    if value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
