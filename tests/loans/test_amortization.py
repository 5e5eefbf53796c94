"""Quincenal French amortization, the Fondo Especial y Solidario and the CAT.

The reference example is the program's typical loan: $60,000.00 at 13.67 % nominal a year over
59 quincenas, whose figures the institute publishes.
"""

from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loans.amortization import (
    CAT_LEGEND,
    MAX_AMOUNT,
    InterestConvention,
    Quote,
    QuoteError,
    amount_for_payment,
    amount_in_words,
    quote,
)

EXAMPLE = {"amount": Decimal("60000.00"), "annual_rate": Decimal("0.1367"), "quincenas": 59}


# --- The reference example ---------------------------------------------------------------------


def test_the_reference_example_reproduces_every_published_figure():
    # when the typical loan is quoted under the default (nominal) convention, without fund
    result = quote(**EXAMPLE)

    # then it has the institute's figures
    assert result.convention is InterestConvention.NOMINAL
    assert result.periodic_rate == Decimal("0.005695833333333333333333333333333333")
    assert result.payment == Decimal("1200.24")
    assert result.last_payment == Decimal("1200.45")
    assert result.total_interest == Decimal("10814.37")
    assert result.total_fund == Decimal("0.00")
    assert result.total_paid == Decimal("70814.37")
    assert result.cat == Decimal("14.6")
    assert result.net_disbursed == Decimal("60000.00")
    assert len(result.schedule) == 59


def test_the_reference_schedule_starts_and_ends_as_published():
    # when the typical loan is quoted
    schedule = quote(**EXAMPLE).schedule

    # then its first three rows and its last one are these
    shown = [
        (row.n, *map(str, (row.payment, row.interest, row.principal, row.fund, row.balance)))
        for row in (*schedule[:3], schedule[-1])
    ]
    assert shown == [
        (1, "1200.24", "341.75", "858.49", "0.00", "59141.51"),
        (2, "1200.24", "336.86", "863.38", "0.00", "58278.13"),
        (3, "1200.24", "331.94", "868.30", "0.00", "57409.83"),
        (59, "1200.45", "6.80", "1193.65", "0.00", "0.00"),
    ]


def test_the_legend_goes_with_every_cat():
    assert CAT_LEGEND == "CAT sin IVA. Para fines informativos y de comparación."


# --- Fondo Especial y Solidario ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("quincenas", "charged_at"),
    [(59, [1, 25, 49]), (24, [1]), (25, [1, 25]), (48, [1, 25]), (49, [1, 25, 49]), (1, [1])],
)
def test_the_fund_is_charged_once_for_every_started_year_of_the_term(quincenas, charged_at):
    # given a product whose fund takes 1 % of the principal a year
    # when a loan of $60,000.00 is quoted
    result = quote(
        amount=Decimal("60000"),
        annual_rate=Decimal("0.1367"),
        quincenas=quincenas,
        fund_rate=Decimal("0.01"),
    )

    # then $600.00 is charged with the first installment of every started year, and only then
    assert result.fund_contribution == Decimal("600.00")
    assert [row.n for row in result.schedule if row.fund] == charged_at
    assert {row.fund for row in result.schedule if row.n in charged_at} == {Decimal("600.00")}
    assert result.total_fund == Decimal("600.00") * len(charged_at)
    assert result.schedule[0].total == result.payment + Decimal("600.00")


def test_the_fund_does_not_change_the_installments_but_enters_the_total_and_the_cat():
    # given the reference loan without and with a 1 % yearly fund
    without = quote(**EXAMPLE)
    with_fund = quote(**EXAMPLE, fund_rate=Decimal("0.01"))

    # then the installments are the same, the borrower pays $1,800.00 more and the CAT says so
    assert [row.payment for row in with_fund.schedule] == [row.payment for row in without.schedule]
    assert with_fund.total_fund == Decimal("1800.00")
    assert with_fund.total_paid == without.total_paid + Decimal("1800.00")
    assert with_fund.cat == Decimal("17.2")
    assert with_fund.cat > without.cat


def test_the_yearly_contribution_is_rounded_half_up_to_centavos():
    # when the fund rate gives half a centavo (1,000.50 × 0.5 % = 5.0025; 1,001.00 × 0.5 % = 5.005)
    assert quote(
        amount=Decimal("1000.50"),
        annual_rate=Decimal("0.1"),
        quincenas=12,
        fund_rate=Decimal("0.005"),
    ).fund_contribution == Decimal("5.00")
    assert quote(
        amount=Decimal("1001.00"),
        annual_rate=Decimal("0.1"),
        quincenas=12,
        fund_rate=Decimal("0.005"),
    ).fund_contribution == Decimal("5.01")


def test_less_money_received_for_the_same_payments_means_a_higher_cat():
    # when the borrower receives $58,800.00 of the $60,000.00 (the rest withheld up front)
    result = quote(**EXAMPLE, net_disbursed=Decimal("58800.00"))

    # then the schedule is the same but the CAT measures the cost of what was received
    assert result.payment == Decimal("1200.24")
    assert result.net_disbursed == Decimal("58800.00")
    assert result.cat == Decimal("16.6")


# --- Conventions and edge cases ----------------------------------------------------------------


def test_under_the_effective_convention_24_quincenas_compound_to_the_annual_rate():
    # when the reference loan is quoted with the effective convention
    result = quote(**EXAMPLE, convention=InterestConvention.EFFECTIVE)

    # then the quincenal rate compounds to 13.67 % and the installments are lower than nominal
    # (to the 28 digits of the test's own decimal context)
    assert abs((1 + result.periodic_rate) ** 24 - 1 - Decimal("0.1367")) < Decimal("1e-25")
    assert result.payment == Decimal("1188.68")
    assert result.last_payment == Decimal("1188.33")
    assert result.total_interest == Decimal("10131.77")
    assert result.schedule[0].interest == Decimal("321.18")
    # and without fund the CAT is the annual rate itself, to one decimal
    assert result.cat == Decimal("13.7")


def test_the_convention_may_be_given_as_the_value_a_product_stores():
    assert quote(**EXAMPLE, convention="effective").convention is InterestConvention.EFFECTIVE


def test_a_loan_without_interest_splits_the_amount_and_the_last_installment_takes_the_residue():
    # when $1,000.00 are lent at 0 % over 3 quincenas
    result = quote(amount=Decimal("1000"), annual_rate=Decimal("0"), quincenas=3)

    # then two installments of $333.33, a last one of $333.34, no interest and a CAT of 0.0
    assert [row.payment for row in result.schedule] == [
        Decimal("333.33"),
        Decimal("333.33"),
        Decimal("333.34"),
    ]
    assert result.total_interest == Decimal("0.00")
    assert result.cat == Decimal("0.0")


def test_a_one_quincena_loan_pays_everything_at_once():
    result = quote(amount=Decimal("60000"), annual_rate=Decimal("0.1367"), quincenas=1)

    assert result.payment == result.last_payment == Decimal("60341.75")
    assert result.schedule[0].balance == Decimal("0.00")


def test_an_exact_half_centavo_installment_is_rounded_up():
    # given a loan whose exact installment is 24.135 (24.00 × (1 + 0.135 / 24)), which a
    # 34-digit computation of r / (1 − (1 + r)^−n) would land a hair to either side of
    result = quote(amount=Decimal("24.00"), annual_rate=Decimal("0.135"), quincenas=1)

    # then it is rounded half up
    assert result.payment == Decimal("24.14")


def test_an_exact_half_centavo_of_interest_is_rounded_up():
    # given interest of exactly half a centavo (0.60 × 0.20 / 24 = 0.005), where 0.20 / 24
    # cut at 34 digits (0.00833…3) would give 0.00499…98
    result = quote(amount=Decimal("0.60"), annual_rate=Decimal("0.20"), quincenas=1)

    # then the borrower pays one centavo of interest
    assert result.schedule[0].interest == Decimal("0.01")


def test_the_callers_decimal_context_does_not_change_a_quote():
    # given a caller that left a six-digit decimal context in place
    terms = {**EXAMPLE, "amount": Decimal("600000.00"), "fund_rate": Decimal("0.01")}
    with localcontext() as context:
        context.prec = 6
        coarse = quote(**terms)
        first_total = coarse.schedule[0].total

    # then the quote, seven-digit sums included, is the same as anywhere else
    assert coarse == quote(**terms)
    assert first_total == Decimal("18002.43")


def test_a_small_amount_over_a_very_long_term_is_not_a_loan():
    # given an amount whose rounded installment, compounded over 937 quincenas, would leave a
    # negative last payment
    with pytest.raises(QuoteError) as error:
        quote(
            amount=Decimal("700.21"),
            annual_rate=Decimal("0.1057"),
            quincenas=937,
            convention=InterestConvention.EFFECTIVE,
        )

    assert str(error.value) == (
        "Con ese monto y ese plazo los pagos no amortizan el préstamo: elija un monto mayor o "
        "un plazo menor."
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount": Decimal("0")}, "El monto debe ser mayor que cero."),
        ({"amount": Decimal("-1")}, "El monto debe ser mayor que cero."),
        ({"amount": Decimal("1.005")}, "El monto admite a lo más dos decimales (centavos)."),
        ({"amount": Decimal("NaN")}, "El monto debe ser un número."),
        ({"amount": MAX_AMOUNT + 1}, "El monto no puede ser mayor que $9,999,999,999.99."),
        ({"amount": Decimal("1e40")}, "El monto no puede ser mayor que $9,999,999,999.99."),
        ({"annual_rate": Decimal("-0.01")}, "La tasa de interés anual no puede ser negativa."),
        ({"annual_rate": Decimal("1.01")}, "La tasa de interés anual no puede pasar de 100 %."),
        (
            {"annual_rate": Decimal("0.1234567")},
            "La tasa de interés anual admite a lo más cuatro decimales en porcentaje.",
        ),
        ({"fund_rate": Decimal("-0.01")}, "La aportación anual al fondo no puede ser negativa."),
        ({"quincenas": 0}, "El plazo debe ser de al menos una quincena."),
        ({"quincenas": 961}, "El plazo no puede pasar de 960 quincenas."),
        (
            {"convention": "compuesta"},
            "Convención de interés desconocida: «compuesta» (se espera nominal o effective).",
        ),
        (
            {"net_disbursed": Decimal("60000.01")},
            "El monto neto entregado no puede ser mayor que el monto del préstamo.",
        ),
        ({"net_disbursed": Decimal("0")}, "El monto neto entregado debe ser mayor que cero."),
    ],
)
def test_inputs_that_cannot_be_quoted_are_refused_in_spanish(changes, message):
    with pytest.raises(QuoteError) as error:
        quote(**{**EXAMPLE, **changes})

    assert str(error.value) == message


def test_a_float_never_enters_the_money_path():
    with pytest.raises(TypeError):
        quote(**{**EXAMPLE, "annual_rate": 0.1367})


# --- amount_for_payment ------------------------------------------------------------------------


def test_the_largest_amount_for_a_payment_is_exact_to_the_centavo():
    # when the net-pay share allows $1,200.24 a quincena on the reference terms
    terms = {"annual_rate": Decimal("0.1367"), "quincenas": 59}
    largest = amount_for_payment(payment=Decimal("1200.24"), **terms)

    # then $60,000.09 fits that installment and one centavo more does not
    assert largest == Decimal("60000.09")
    assert quote(amount=largest, **terms).payment == Decimal("1200.24")
    assert quote(amount=largest + Decimal("0.01"), **terms).payment == Decimal("1200.25")


def test_a_payment_cap_with_fractions_of_a_centavo_affords_what_its_centavos_do():
    terms = {"annual_rate": Decimal("0.1367"), "quincenas": 59}

    assert amount_for_payment(payment=Decimal("1200.249"), **terms) == Decimal("60000.09")


def test_without_interest_the_largest_amount_is_the_payments_plus_the_rounding_margin():
    # 1,000.04 / 10 = 100.004 still rounds to an installment of 100.00
    assert amount_for_payment(
        payment=Decimal("100"), annual_rate=Decimal("0"), quincenas=10
    ) == Decimal("1000.04")


@pytest.mark.parametrize("payment", [Decimal("0"), Decimal("0.009"), Decimal("-100")])
def test_a_payment_below_one_centavo_affords_nothing(payment):
    assert amount_for_payment(
        payment=payment, annual_rate=Decimal("0.1367"), quincenas=59
    ) == Decimal("0.00")


@pytest.mark.parametrize("payment", [Decimal("1e12"), Decimal("1e40")])
def test_the_largest_amount_never_exceeds_what_can_be_quoted(payment):
    assert (
        amount_for_payment(payment=payment, annual_rate=Decimal("0.1"), quincenas=144) == MAX_AMOUNT
    )


# --- Amount in words ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("60000.00", "SESENTA MIL PESOS 00/100 M.N."),
        ("1", "UN PESO 00/100 M.N."),
        ("1.50", "UN PESO 50/100 M.N."),
        ("0.99", "CERO PESOS 99/100 M.N."),
        ("16.05", "DIECISÉIS PESOS 05/100 M.N."),
        ("21", "VEINTIÚN PESOS 00/100 M.N."),
        ("21000", "VEINTIÚN MIL PESOS 00/100 M.N."),
        ("100", "CIEN PESOS 00/100 M.N."),
        ("101000", "CIENTO UN MIL PESOS 00/100 M.N."),
        ("1000000", "UN MILLÓN DE PESOS 00/100 M.N."),
        ("1000001", "UN MILLÓN UN PESOS 00/100 M.N."),
        ("2500000", "DOS MILLONES QUINIENTOS MIL PESOS 00/100 M.N."),
        ("21000000", "VEINTIÚN MILLONES DE PESOS 00/100 M.N."),
        (
            "31031031.31",
            "TREINTA Y UN MILLONES TREINTA Y UN MIL TREINTA Y UN PESOS 31/100 M.N.",
        ),
        (
            "27426243.75",
            "VEINTISIETE MILLONES CUATROCIENTOS VEINTISÉIS MIL DOSCIENTOS CUARENTA Y TRES PESOS "
            "75/100 M.N.",
        ),
    ],
)
def test_amounts_are_written_as_a_pagare_writes_them(amount, words):
    assert amount_in_words(Decimal(amount)) == words


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (Decimal("0"), "El monto debe ser mayor que cero."),
        (Decimal("-1"), "El monto debe ser mayor que cero."),
        (Decimal("1.005"), "El monto admite a lo más dos decimales (centavos)."),
        (Decimal("1e40"), "El monto no puede ser mayor que $9,999,999,999.99."),
    ],
)
def test_only_an_amount_that_can_be_lent_has_words(amount, message):
    with pytest.raises(QuoteError) as error:
        amount_in_words(amount)

    assert str(error.value) == message


# --- Properties --------------------------------------------------------------------------------

amounts = st.integers(min_value=100_000, max_value=50_000_000).map(lambda c: Decimal(c).scaleb(-2))
# Whole basis points, 0 % to 40 %: a percentage with two decimals, as products state it.
rates = st.integers(min_value=0, max_value=4_000).map(lambda bp: Decimal(bp).scaleb(-4))
fund_rates = st.integers(min_value=0, max_value=300).map(lambda bp: Decimal(bp).scaleb(-4))
quincena_counts = st.integers(min_value=1, max_value=144)
conventions = st.sampled_from(InterestConvention)
# The CAT solver makes an example take about a millisecond, too uneven for a deadline.
properties = settings(max_examples=150, deadline=None)


@properties
@given(amount=amounts, rate=rates, quincenas=quincena_counts, convention=conventions)
def test_the_balance_ends_at_zero_and_the_principal_parts_add_up_to_the_amount(
    amount, rate, quincenas, convention
):
    result = quote(amount=amount, annual_rate=rate, quincenas=quincenas, convention=convention)

    assert result.schedule[-1].balance == Decimal("0.00")
    assert sum(row.principal for row in result.schedule) == amount
    assert all(row.principal > 0 for row in result.schedule)
    assert result.total_paid == sum(row.total for row in result.schedule)


@properties
@given(
    amount=amounts,
    rate=rates,
    fund_rate=fund_rates,
    quincenas=quincena_counts,
    convention=conventions,
)
def test_every_amount_has_exactly_two_decimals(amount, rate, fund_rate, quincenas, convention):
    result = quote(
        amount=amount,
        annual_rate=rate,
        quincenas=quincenas,
        convention=convention,
        fund_rate=fund_rate,
    )

    values = [
        result.amount,
        result.payment,
        result.last_payment,
        result.fund_contribution,
        result.total_interest,
        result.total_fund,
        result.total_paid,
        result.net_disbursed,
    ]
    for row in result.schedule:
        values += [row.payment, row.interest, row.principal, row.fund, row.balance]
    assert {value.as_tuple().exponent for value in values} == {-2}
    assert result.cat.as_tuple().exponent == -1


@properties
@given(amount=amounts, two_rates=st.lists(rates, min_size=2, max_size=2), quincenas=quincena_counts)
def test_the_installment_never_falls_as_the_rate_rises(amount, two_rates, quincenas):
    for convention in InterestConvention:
        low, high = (
            quote(amount=amount, annual_rate=rate, quincenas=quincenas, convention=convention)
            for rate in sorted(two_rates)
        )

        assert low.payment <= high.payment


def _centavo_rounding_allowance(result: Quote) -> Decimal:
    """How far, in points, rounding interest to centavos can put the exact CAT below the rate.

    Each quincena's interest is rounded by at most half a centavo, so at the contract's
    periodic rate r the installments may be worth δ ≤ 0.005·Σ vᵏ less than the principal
    (v = 1 / (1 + r)). Their present value is a decreasing convex function of the rate, so the
    CAT's rate i is at most δ / S below r, S = Σ k·cₖ·vᵏ⁺¹ being minus its slope at r; and
    (1 + i)^24 falls by at most 24·(1 + r)^23 per unit of i. For the amounts here (≥ $1,000)
    this is below a thousandth of a point.
    """
    r = result.periodic_rate
    v = 1 / (1 + r)
    deficit = Decimal("0.005") * sum(v**k for k in range(1, result.quincenas + 1))
    slope = sum(row.payment * row.n * v ** (row.n + 1) for row in result.schedule)
    return 100 * 24 * (1 + r) ** 23 * deficit / slope


@properties
@given(amount=amounts, rate=rates, quincenas=quincena_counts, convention=conventions)
def test_the_cat_is_at_least_the_rates_effective_annual_equivalent(
    amount, rate, quincenas, convention
):
    # given a loan without fund, received whole
    result = quote(amount=amount, annual_rate=rate, quincenas=quincenas, convention=convention)

    # then its CAT is the rate compounded over 24 quincenas, less at most 0.05 points for
    # showing one decimal (half up) and the centavo rounding of each interest
    effective_annual = ((1 + result.periodic_rate) ** 24 - 1) * 100
    tolerance = Decimal("0.05") + _centavo_rounding_allowance(result)
    assert result.cat >= effective_annual - tolerance


@properties
@given(amount=amounts, rate=rates, fund_rate=fund_rates, quincenas=quincena_counts)
def test_a_fund_never_lowers_the_cat(amount, rate, fund_rate, quincenas):
    without = quote(amount=amount, annual_rate=rate, quincenas=quincenas)
    with_fund = quote(amount=amount, annual_rate=rate, quincenas=quincenas, fund_rate=fund_rate)

    assert with_fund.cat >= without.cat


@properties
@given(
    payment=st.integers(min_value=10_000, max_value=2_000_000).map(lambda c: Decimal(c).scaleb(-2)),
    rate=rates,
    quincenas=quincena_counts,
    convention=conventions,
)
def test_the_largest_amount_for_a_payment_fits_it_and_one_centavo_more_does_not(
    payment, rate, quincenas, convention
):
    loan_terms = {"annual_rate": rate, "quincenas": quincenas, "convention": convention}

    largest = amount_for_payment(payment=payment, **loan_terms)

    assert quote(amount=largest, **loan_terms).payment <= payment
    assert quote(amount=largest + Decimal("0.01"), **loan_terms).payment > payment
