"""Quincenal French amortization, the Fondo Especial y Solidario and the CAT.

The conventions of this module:

- Rates are fractions of one: ``Decimal("0.1367")`` is 13.67 % a year and ``Decimal("0.01")``
  is 1 % of the principal a year. Forms and the ``loan_quote`` command take percentages and
  divide by 100 at their border, so nothing in here guesses which one it was given.
- Amounts are pesos as ``Decimal`` with at most two decimals; every amount returned here has
  exactly two (centavos), rounded ROUND_HALF_UP.
- No float anywhere. The level payment is decided on an exact ``Fraction`` (see
  ``_payment_factor``); everything else runs in a fixed 34-digit decimal context, so a quote is
  the same on every machine and whatever decimal context the caller has set.
- No database, no settings: Django is used only to translate the error messages.
"""

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, localcontext
from enum import StrEnum
from fractions import Fraction

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from num2words import num2words

QUINCENAS_PER_YEAR = 24
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Shown next to every CAT (Banco de México's rules for informative figures). Marked for
# translation but kept a plain string so this module needs no active language: templates and
# commands translate it when they show it.
CAT_LEGEND = gettext_noop("CAT sin IVA. Para fines informativos y de comparación.")

# Guards against runaway input (a simulator re-quotes on every keystroke), not product rules:
# products set their own limits. MAX_AMOUNT is what a max_digits=12, decimal_places=2 column holds.
MAX_AMOUNT = Decimal("9999999999.99")
MAX_QUINCENAS = 40 * QUINCENAS_PER_YEAR
MAX_RATE = Decimal("1")
# Six decimals as a fraction is four in percent (13.6725 %): more than any product states,
# and few enough that balance × rate is always exact in the 34-digit context.
RATE_DECIMALS = 6

# 34 digits (IEEE decimal128) leave more than 20 digits to spare over centavos of a
# ten-billion-peso amount, and keep the CAT solver's rounding noise far below 0.05 points.
_CONTEXT = Context(prec=34, rounding=ROUND_HALF_EVEN)
_CAT_STEP_TOLERANCE = Decimal("1e-24")
_CAT_MAX_STEPS = 200
_CAT_PLACES = Decimal("0.1")


class InterestConvention(StrEnum):
    """How the annual rate becomes the rate of one quincena; each product chooses one."""

    # r = annual / 24: the institute's default.
    NOMINAL = "nominal"
    # r = (1 + annual)^(1/24) − 1: 24 compounded quincenas give exactly the annual rate.
    EFFECTIVE = "effective"


class QuoteError(ValueError):
    """Inputs that cannot be quoted; the message is in Spanish, for the person who typed them."""


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    """One quincena of the schedule. `payment` is the installment (interest + principal)."""

    n: int
    payment: Decimal
    interest: Decimal
    principal: Decimal
    # The Fondo Especial y Solidario contribution charged with this installment (0.00 in most).
    fund: Decimal
    # Outstanding principal after this payment.
    balance: Decimal

    @property
    def total(self) -> Decimal:
        """What the borrower pays this quincena: the installment plus any fund contribution."""
        # In our context: a caller's coarse one would round the sum of two exact amounts.
        with localcontext(_CONTEXT):
            return self.payment + self.fund


@dataclass(frozen=True, slots=True)
class Quote:
    """A loan as the simulator, the application and the pagaré state it.

    Rates are fractions of one; `cat` is a percentage with one decimal (Decimal("14.6")).
    """

    amount: Decimal
    annual_rate: Decimal
    quincenas: int
    convention: InterestConvention
    fund_rate: Decimal
    net_disbursed: Decimal
    # Unrounded (34 digits): what each quincena's interest is computed with.
    periodic_rate: Decimal
    # The level installment; the last one (`last_payment`) absorbs the rounding residue.
    payment: Decimal
    last_payment: Decimal
    # The yearly fund contribution, charged with installments 1, 25, 49, …
    fund_contribution: Decimal
    total_interest: Decimal
    total_fund: Decimal
    # Installments plus fund contributions: everything the borrower pays.
    total_paid: Decimal
    cat: Decimal
    schedule: tuple[ScheduleRow, ...]


def quote(
    *,
    amount: Decimal,
    annual_rate: Decimal,
    quincenas: int,
    convention: InterestConvention | str = InterestConvention.NOMINAL,
    fund_rate: Decimal = Decimal("0"),
    net_disbursed: Decimal | None = None,
) -> Quote:
    """The French schedule of a quincenal loan, its totals and its CAT.

    `annual_rate` and `fund_rate` are fractions of one (0.1367 for 13.67 % a year).
    `net_disbursed` is what the borrower actually receives when it is less than `amount`
    (the CAT equates it, not the principal, to the present value of the payments); it defaults
    to `amount`. Raises QuoteError with a Spanish message for inputs that cannot be quoted.
    """
    with localcontext(_CONTEXT):
        amount = _checked_amount(amount, field=_("El monto"))
        annual_rate = _checked_rate(annual_rate, field=_("La tasa de interés anual"))
        fund_rate = _checked_rate(fund_rate, field=_("La aportación anual al fondo"))
        quincenas = _checked_quincenas(quincenas)
        convention = _checked_convention(convention)
        if net_disbursed is None:
            net_disbursed = amount
        else:
            net_disbursed = _checked_amount(net_disbursed, field=_("El monto neto entregado"))
            if net_disbursed > amount:
                raise QuoteError(
                    _("El monto neto entregado no puede ser mayor que el monto del préstamo.")
                )

        periodic_rate = _periodic_rate(annual_rate=annual_rate, convention=convention)
        factor = _payment_factor(
            annual_rate=annual_rate,
            periodic_rate=periodic_rate,
            quincenas=quincenas,
            convention=convention,
        )
        payment = _cents_half_up(Fraction(amount) * factor)
        fund_contribution = (amount * fund_rate).quantize(CENT, rounding=ROUND_HALF_UP)
        schedule = _schedule(
            amount=amount,
            annual_rate=annual_rate,
            periodic_rate=periodic_rate,
            convention=convention,
            quincenas=quincenas,
            payment=payment,
            fund_contribution=fund_contribution,
        )
        # A small amount over a long term can round its installment to one that pays no
        # principal, or up by a fraction of a centavo that compounds over hundreds of quincenas
        # into a negative last payment (700.21 at 10.57 % effective over 937 quincenas ends
        # at −32.36). Such a schedule is no loan to offer.
        if any(row.principal <= 0 for row in schedule):
            raise QuoteError(
                _(
                    "Con ese monto y ese plazo los pagos no amortizan el préstamo: elija un "
                    "monto mayor o un plazo menor."
                )
            )
        total_interest = sum((row.interest for row in schedule), ZERO)
        total_fund = sum((row.fund for row in schedule), ZERO)
        cat = _cat(
            flows=[row.total for row in schedule],
            net_disbursed=net_disbursed,
            guess=periodic_rate,
        )
        return Quote(
            amount=amount,
            annual_rate=annual_rate,
            quincenas=quincenas,
            convention=convention,
            fund_rate=fund_rate,
            net_disbursed=net_disbursed,
            periodic_rate=periodic_rate,
            payment=payment,
            last_payment=schedule[-1].payment,
            fund_contribution=fund_contribution,
            total_interest=total_interest,
            total_fund=total_fund,
            total_paid=amount + total_interest + total_fund,
            cat=cat,
            schedule=schedule,
        )


def amount_for_payment(
    *,
    payment: Decimal,
    annual_rate: Decimal,
    quincenas: int,
    convention: InterestConvention | str = InterestConvention.NOMINAL,
) -> Decimal:
    """The largest principal, in whole centavos, whose level installment is at most `payment`.

    Eligibility uses it to find the largest loan that fits the share of net pay an affiliate
    may commit. It rounds down to centavos, not pesos: the installment never decreases as the
    principal grows, so a caller may floor the result further to its product's step (hundreds,
    thousands) and still fit. The fund contribution is not part of the installment (it is
    charged once a year), nor is the last installment, which may exceed the level one by the
    rounding residue (a few centavos). `quote(amount=result, ...)` gives a payment ≤ `payment`
    and one centavo more would not. A payment below one centavo affords 0.00; the result never
    exceeds MAX_AMOUNT.
    """
    with localcontext(_CONTEXT):
        payment = _checked_decimal(payment, field=_("El pago quincenal"))
        annual_rate = _checked_rate(annual_rate, field=_("La tasa de interés anual"))
        quincenas = _checked_quincenas(quincenas)
        convention = _checked_convention(convention)
        # No installment of a quotable amount reaches twice MAX_AMOUNT (at most 1 + 1/24 times
        # the principal), so a larger cap affords the same and is kept within 34 digits.
        payment = min(payment, 2 * MAX_AMOUNT)
        # Installments are whole centavos: a cap between two of them is the lower one.
        limit = payment.quantize(CENT, rounding=ROUND_FLOOR)
        if limit < CENT:
            return ZERO
        factor = _payment_factor(
            annual_rate=annual_rate,
            periodic_rate=_periodic_rate(annual_rate=annual_rate, convention=convention),
            quincenas=quincenas,
            convention=convention,
        )
        # round_half_up(P × factor) ≤ limit  ⇔  P × factor < limit + half a centavo, so the
        # answer is the last whole centavo strictly below (limit + ½ centavo) / factor.
        bound = (Fraction(limit) + Fraction(1, 200)) / factor
        centavos = math.ceil(bound * 100) - 1
        return min(Decimal(centavos).scaleb(-2), MAX_AMOUNT)


def amount_in_words(amount: Decimal, /) -> str:
    """The amount as a pagaré writes it: "SESENTA MIL PESOS 00/100 M.N.".

    Takes what `quote` takes as an amount (more than zero, centavos, up to MAX_AMOUNT) and
    raises QuoteError otherwise.

    num2words gives the Spanish numerals; two things it leaves out are fixed here. Before a
    noun, "uno" drops its last letter (apocope): "veintiún mil", "treinta y un millones",
    "un millón un pesos", where num2words writes "veintiuno mil". And whole millions take
    "de": "un millón de pesos", but "un millón quinientos mil pesos".
    """
    with localcontext(_CONTEXT):
        amount = _checked_amount(amount, field=_("El monto"))
        pesos = int(amount)
        centavos = int((amount - pesos) * 100)
    words = num2words(pesos, lang="es")
    words = re.sub(r"\bveintiuno\b", "veintiún", words)
    words = re.sub(r"\buno\b", "un", words)
    unit = "peso" if pesos == 1 else "pesos"
    of = "de " if pesos and pesos % 1_000_000 == 0 else ""
    return f"{words} {of}{unit} {centavos:02d}/100 M.N.".upper()


# --- Arithmetic --------------------------------------------------------------------------------


def _periodic_rate(*, annual_rate: Decimal, convention: InterestConvention) -> Decimal:
    if convention is InterestConvention.NOMINAL:
        return annual_rate / QUINCENAS_PER_YEAR
    # exp(ln(1 + a) / 24) rather than (1 + a) ** (1 / 24): 1/24 would be cut at 34 digits
    # before it became an exponent.
    return ((1 + annual_rate).ln() / QUINCENAS_PER_YEAR).exp() - 1


def _payment_factor(
    *,
    annual_rate: Decimal,
    periodic_rate: Decimal,
    quincenas: int,
    convention: InterestConvention,
) -> Fraction:
    """The installment per peso of principal, r / (1 − (1 + r)^−n), as an exact fraction.

    Why exact: the installment is rounded half up, and under the nominal convention the exact
    installment can end in exactly half a centavo (one quincena, 24.00 pesos at 13.50 %: 24.135).
    A 34-digit Decimal computation lands a hair to either side of such a half and would round it
    by chance. With r = annual / 24 rational, Fraction gives the exact value (integers of a
    few hundred digits for 144 quincenas: microseconds). Under the effective convention r is
    irrational, exact halves do not occur, and the 34-digit value is used as it is.
    """
    if convention is InterestConvention.NOMINAL:
        rate = Fraction(annual_rate) / QUINCENAS_PER_YEAR
        if rate == 0:
            return Fraction(1, quincenas)
        growth = (1 + rate) ** quincenas
        return rate * growth / (growth - 1)
    if periodic_rate == 0:
        return Fraction(1, quincenas)
    return Fraction(periodic_rate / (1 - (1 + periodic_rate) ** -quincenas))


def _cents_half_up(value: Fraction) -> Decimal:
    return Decimal(math.floor(value * 100 + Fraction(1, 2))).scaleb(-2)


def _interest(
    balance: Decimal,
    *,
    annual_rate: Decimal,
    periodic_rate: Decimal,
    convention: InterestConvention,
) -> Decimal:
    if convention is InterestConvention.NOMINAL:
        # balance × annual / 24 dividing last, not balance × (annual / 24): when the exact
        # interest ends in half a centavo the quotient is exact and rounds up, while the
        # 34-digit periodic rate (0.2 / 24 = 0.00833…3) could land a hair below the half
        # (0.60 × 0.00833…3 = 0.00499…98 would round to 0.00 instead of 0.01).
        exact = balance * annual_rate / QUINCENAS_PER_YEAR
    else:
        exact = balance * periodic_rate
    return exact.quantize(CENT, rounding=ROUND_HALF_UP)


def _schedule(
    *,
    amount: Decimal,
    annual_rate: Decimal,
    periodic_rate: Decimal,
    convention: InterestConvention,
    quincenas: int,
    payment: Decimal,
    fund_contribution: Decimal,
) -> tuple[ScheduleRow, ...]:
    rows = []
    balance = amount
    for n in range(1, quincenas + 1):
        interest = _interest(
            balance, annual_rate=annual_rate, periodic_rate=periodic_rate, convention=convention
        )
        # The last installment pays off whatever the rounded installments left, so the balance
        # ends at exactly 0.00 and the principal parts add up to the amount.
        principal = balance if n == quincenas else payment - interest
        balance -= principal
        # One contribution for every started year of the term, with its first installment.
        fund = fund_contribution if (n - 1) % QUINCENAS_PER_YEAR == 0 else ZERO
        rows.append(
            ScheduleRow(
                n=n,
                payment=interest + principal,
                interest=interest,
                principal=principal,
                fund=fund,
                balance=balance,
            )
        )
    return tuple(rows)


def _cat(*, flows: Sequence[Decimal], net_disbursed: Decimal, guess: Decimal) -> Decimal:
    """The CAT in percent with one decimal, by the Banco de México method.

    Finds the discount factor v = 1 / (1 + i) of one quincena that makes the present value of
    the flows (the k-th paid at quincena k) equal to the net amount disbursed:

        g(v) = flow_1·v + flow_2·v² + … + flow_n·vⁿ − net_disbursed = 0,

    and then CAT = (1 + i)^24 − 1 = v^−24 − 1. Newton's method on v always converges here:
    every flow is ≥ 0 and the last is > 0, so g is increasing and convex for v > 0. A step
    from the right of the root stays to its right and moves toward it; a step from the left
    lands to its right. Since g(0) < 0 ≤ g(1) (nothing pays less than it borrowed), the root
    lies in (0, 1]. The guess v = 1 / (1 + r) is already within rounding of the root when
    there is no fund, so a handful of steps reach 10^−24, far below the 0.05 points of the
    displayed decimal.
    """
    # Horner's scheme wants the coefficients from the highest power down to the constant.
    coefficients = [*reversed(flows), -net_disbursed]
    v = 1 / (1 + guess)
    for _step in range(_CAT_MAX_STEPS):
        value = slope = Decimal(0)
        for coefficient in coefficients:
            slope = slope * v + value
            value = value * v + coefficient
        step = value / slope
        v -= step
        if abs(step) <= _CAT_STEP_TOLERANCE:
            break
    else:  # pragma: no cover - the convexity argument above rules it out
        raise ArithmeticError("The CAT solver did not converge.")
    return ((v**-QUINCENAS_PER_YEAR - 1) * 100).quantize(_CAT_PLACES, rounding=ROUND_HALF_UP)


# --- Input checks ------------------------------------------------------------------------------


def _checked_decimal(value: Decimal, *, field: str) -> Decimal:
    # Money never goes through float; an int is exact and harmless.
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"{field}: expected Decimal or int, got {type(value).__name__}")
    value = Decimal(value)
    if not value.is_finite():
        raise QuoteError(_("%(field)s debe ser un número.") % {"field": field})
    return value


def _checked_amount(value: Decimal, *, field: str) -> Decimal:
    value = _checked_decimal(value, field=field)
    if value <= 0:
        raise QuoteError(_("%(field)s debe ser mayor que cero.") % {"field": field})
    # Before the decimals: quantizing a number of more than 34 digits is itself an error.
    if value > MAX_AMOUNT:
        raise QuoteError(
            _("%(field)s no puede ser mayor que %(limit)s.")
            % {"field": field, "limit": f"${MAX_AMOUNT:,}"}
        )
    if value != value.quantize(CENT, rounding=ROUND_HALF_UP):
        raise QuoteError(
            _("%(field)s admite a lo más dos decimales (centavos).") % {"field": field}
        )
    return value.quantize(CENT)


def _checked_rate(value: Decimal, *, field: str) -> Decimal:
    value = _checked_decimal(value, field=field)
    if value < 0:
        raise QuoteError(_("%(field)s no puede ser negativa.") % {"field": field})
    if value > MAX_RATE:
        raise QuoteError(_("%(field)s no puede pasar de 100 %%.") % {"field": field})
    if value != value.quantize(Decimal(1).scaleb(-RATE_DECIMALS), rounding=ROUND_HALF_UP):
        raise QuoteError(
            _("%(field)s admite a lo más cuatro decimales en porcentaje.") % {"field": field}
        )
    return value


def _checked_quincenas(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"quincenas: expected int, got {type(value).__name__}")
    if value < 1:
        raise QuoteError(_("El plazo debe ser de al menos una quincena."))
    if value > MAX_QUINCENAS:
        raise QuoteError(
            _("El plazo no puede pasar de %(limit)d quincenas.") % {"limit": MAX_QUINCENAS}
        )
    return value


def _checked_convention(value: InterestConvention | str) -> InterestConvention:
    try:
        return InterestConvention(value)
    except ValueError:
        raise QuoteError(
            _("Convención de interés desconocida: «%(value)s» (se espera nominal o effective).")
            % {"value": value}
        ) from None
