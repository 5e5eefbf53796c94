"""Eligibility: every rule of a product, alone and together, and the largest loan that passes.

Pure functions over plain values, so no database here. Defaults (tests/loans/factories.py): the
PC product (13.67 % nominal, 24–96 quincenas, $5,000–$250,000, 6 months of seniority, bands
6m→2×, 60m→4×, 180m→6×, 30 % of net pay, renewal at 50 %) and an active worker with 10 years,
base salary $9,500.00 a quincena (monthly $19,000.00, so 4× = $76,000.00), net pay $7,800.00
(30 % = $2,340.00) and no deductions. $50,000.00 over 48 quincenas costs $1,193.49 a quincena.
"""

from decimal import Decimal

import pytest

from affiliates.models import AffiliateStatus
from isseg_portal.formatting import pesos
from loans.amortization import amount_for_payment, quote
from loans.eligibility import (
    PENSION_STATUSES,
    Rule,
    SalaryBand,
    best_offer,
    evaluate,
    max_amount,
)
from tests.loans.factories import AffiliateFactsFactory, ExistingLoanFactory, ProductTermsFactory

D = Decimal


def pensioner_product(**overrides):
    """A product for everyone with a loose share, so the pension floor is what binds."""
    values = {
        "code": "PJ",
        "allowed_statuses": frozenset({"activo", "pensionado", "jubilado"}),
        "annual_rate": D("0.125"),
        "min_quincenas": 12,
        "max_quincenas": 72,
        "min_amount": D("3000.00"),
        "max_amount": D("150000.00"),
        "min_seniority_months": 0,
        "salary_bands": (SalaryBand(from_months=0, salary_multiple=D("6")),),
        "max_deduction_share": D("0.60"),
        "pension_floor": D("3500.00"),
        "fund_rate": D("0.015"),
    }
    return ProductTermsFactory(**(values | overrides))


# --- Passing -----------------------------------------------------------------------------------


def test_an_affiliate_within_every_rule_is_eligible_with_the_quoted_payment():
    # given an active worker and the PC product
    affiliate = AffiliateFactsFactory()
    product = ProductTermsFactory()

    # when they ask for $50,000.00 over 48 quincenas
    result = evaluate(affiliate=affiliate, product=product, amount=D("50000.00"), quincenas=48)

    # then nothing fails and the payment is the amortization module's
    assert result.eligible
    assert result.failures == ()
    assert result.payment == D("1193.49")
    assert result.quote.cat > 0
    assert result.previous_balance_netted == D("0.00")
    assert result.net_to_receive == D("50000.00")
    assert result.summary() == (
        "Puedes solicitar $50,000.00 a 48 quincenas, con un pago quincenal de $1,193.49."
    )


# --- Each rule failing alone --------------------------------------------------------------------


def test_a_status_the_product_does_not_allow_fails_alone():
    affiliate = AffiliateFactsFactory(status="pensionado")

    result = evaluate(
        affiliate=affiliate, product=ProductTermsFactory(), amount=D("50000.00"), quincenas=48
    )

    assert not result.eligible
    assert result.codes == (Rule.STATUS_NOT_ALLOWED,)
    failure = result.failure("status_not_allowed")
    assert failure.message == (
        "Este préstamo es para afiliados con estatus activo; tu estatus es pensionado."
    )
    assert failure.figures == {"status": "pensionado", "allowed_statuses": "activo"}


def test_the_allowed_statuses_read_as_a_list():
    product = ProductTermsFactory(allowed_statuses=frozenset({"jubilado", "pensionado"}))

    result = evaluate(
        affiliate=AffiliateFactsFactory(), product=product, amount=D("50000.00"), quincenas=48
    )

    assert result.failure(Rule.STATUS_NOT_ALLOWED).message == (
        "Este préstamo es para afiliados con estatus pensionado o jubilado; tu estatus es activo."
    )


def test_too_little_seniority_fails_alone_with_years_and_months():
    # given a product for 15 years and a worker with 10 years and 6 months
    product = ProductTermsFactory(min_seniority_months=180)
    affiliate = AffiliateFactsFactory(seniority_months=126)

    result = evaluate(affiliate=affiliate, product=product, amount=D("50000.00"), quincenas=48)

    assert result.codes == (Rule.INSUFFICIENT_SENIORITY,)
    failure = result.failures[0]
    assert failure.message == (
        "Este préstamo requiere al menos 15 años de antigüedad cotizando al Instituto; "
        "tienes 10 años y 6 meses."
    )
    assert failure.figures == {
        "required_months": 180,
        "seniority_months": 126,
        "missing_months": 54,
    }


def test_a_blocked_affiliate_fails_alone():
    result = evaluate(
        affiliate=AffiliateFactsFactory(is_blocked=True),
        product=ProductTermsFactory(),
        amount=D("50000.00"),
        quincenas=48,
    )

    assert result.codes == (Rule.BLOCKED,)
    assert "bloqueo" in result.failures[0].message
    assert "Comunícate con el Instituto" in result.failures[0].message


def test_an_amount_below_the_minimum_fails_alone():
    result = evaluate(
        affiliate=AffiliateFactsFactory(),
        product=ProductTermsFactory(),
        amount=D("4000.00"),
        quincenas=48,
    )

    assert result.codes == (Rule.AMOUNT_BELOW_MINIMUM,)
    failure = result.failures[0]
    assert failure.message == (
        "El monto mínimo de este préstamo es $5,000.00; solicitaste $4,000.00."
    )
    assert failure.figures == {"min_amount": D("5000.00"), "amount": D("4000.00")}


def test_an_amount_above_the_maximum_fails_alone():
    product = ProductTermsFactory(max_amount=D("40000.00"))

    result = evaluate(
        affiliate=AffiliateFactsFactory(), product=product, amount=D("50000.00"), quincenas=48
    )

    assert result.codes == (Rule.AMOUNT_ABOVE_MAXIMUM,)
    failure = result.failures[0]
    assert failure.message == (
        "El monto máximo de este préstamo es $40,000.00; solicitaste $50,000.00."
    )
    assert failure.figures == {"max_amount": D("40000.00"), "amount": D("50000.00")}


@pytest.mark.parametrize("quincenas", [12, 120])
def test_a_term_outside_the_product_range_fails_alone(quincenas):
    result = evaluate(
        affiliate=AffiliateFactsFactory(),
        product=ProductTermsFactory(),
        amount=D("20000.00"),
        quincenas=quincenas,
    )

    assert result.codes == (Rule.TERM_OUT_OF_RANGE,)
    failure = result.failures[0]
    assert failure.message == (
        f"El plazo de este préstamo va de 24 a 96 quincenas; elegiste {quincenas}."
    )
    assert failure.figures == {"min_quincenas": 24, "max_quincenas": 96, "quincenas": quincenas}


def test_a_term_of_zero_quincenas_fails_without_a_quote():
    result = evaluate(
        affiliate=AffiliateFactsFactory(),
        product=ProductTermsFactory(),
        amount=D("20000.00"),
        quincenas=0,
    )

    assert result.codes == (Rule.TERM_OUT_OF_RANGE,)
    assert result.quote is None
    assert result.payment is None


def test_an_amount_above_the_salary_multiple_of_the_seniority_band_fails_alone():
    # given 10 years of seniority: the 60-month band, 4 × $19,000.00 = $76,000.00
    affiliate = AffiliateFactsFactory()

    # when asking for $80,000.00 over 96 quincenas ($1,084.14, within capacity)
    result = evaluate(
        affiliate=affiliate, product=ProductTermsFactory(), amount=D("80000.00"), quincenas=96
    )

    assert result.codes == (Rule.AMOUNT_ABOVE_SALARY_LIMIT,)
    failure = result.failures[0]
    assert failure.message == (
        "Con tu antigüedad (10 años) puedes solicitar hasta 4 veces tu sueldo base mensual de "
        "$19,000.00, es decir $76,000.00; solicitaste $80,000.00."
    )
    assert failure.figures == {
        "amount": D("80000.00"),
        "seniority_months": 120,
        "monthly_salary": D("19000.00"),
        "salary_limit": D("76000.00"),
        "salary_multiple": D("4"),
    }


def test_the_band_is_the_highest_one_the_seniority_reached():
    # given 15 years: the 180-month band, 6 × $19,000.00 = $114,000.00
    affiliate = AffiliateFactsFactory(seniority_months=180)
    product = ProductTermsFactory()

    assert evaluate(
        affiliate=affiliate, product=product, amount=D("114000.00"), quincenas=96
    ).eligible
    above = evaluate(affiliate=affiliate, product=product, amount=D("114001.00"), quincenas=96)
    assert above.codes == (Rule.AMOUNT_ABOVE_SALARY_LIMIT,)
    assert above.failures[0].figures["salary_limit"] == D("114000.00")


def test_below_the_first_band_there_is_no_amount():
    product = ProductTermsFactory(
        salary_bands=(SalaryBand(from_months=12, salary_multiple=D("2")),)
    )
    affiliate = AffiliateFactsFactory(seniority_months=8)

    result = evaluate(affiliate=affiliate, product=product, amount=D("5000.00"), quincenas=24)

    assert result.codes == (Rule.AMOUNT_ABOVE_SALARY_LIMIT,)
    assert result.failures[0].message == (
        "Con tu antigüedad (8 meses) este préstamo todavía no te da monto."
    )
    assert result.failures[0].figures["salary_limit"] == D("0.00")
    assert result.max_amount is None


def test_a_product_without_bands_has_no_salary_limit():
    product = ProductTermsFactory(salary_bands=())

    result = evaluate(
        affiliate=AffiliateFactsFactory(), product=product, amount=D("150000.00"), quincenas=96
    )

    assert Rule.AMOUNT_ABOVE_SALARY_LIMIT not in result.codes


def test_deductions_above_the_share_of_net_pay_fail_alone():
    # given $2,000.00 of deductions today: room for $340.00 more within 30 % of $7,800.00
    affiliate = AffiliateFactsFactory(current_deductions_quincenal=D("2000.00"))

    result = evaluate(
        affiliate=affiliate, product=ProductTermsFactory(), amount=D("50000.00"), quincenas=48
    )

    assert result.codes == (Rule.PAYMENT_CAPACITY_EXCEEDED,)
    failure = result.failures[0]
    assert failure.message == (
        "Hoy el Instituto te descuenta $2,000.00 por quincena; con el nuevo pago de $1,193.49 "
        "serían $3,193.49. Tus descuentos pueden sumar hasta el 30% de tu neto quincenal de "
        "$7,800.00, es decir $2,340.00, así que tu pago quincenal puede ser de hasta $340.00."
    )
    assert failure.figures == {
        "net_pay": D("7800.00"),
        "max_deduction_share": D("0.30"),
        "allowed_deductions": D("2340.00"),
        "current_deductions": D("2000.00"),
        "renewed_payment": D("0.00"),
        "payment": D("1193.49"),
        "deductions_after": D("3193.49"),
        "max_payment": D("340.00"),
    }


def test_deductions_already_at_the_limit_say_so():
    affiliate = AffiliateFactsFactory(current_deductions_quincenal=D("2400.00"))

    result = evaluate(
        affiliate=affiliate, product=ProductTermsFactory(), amount=D("10000.00"), quincenas=24
    )

    assert result.codes == (Rule.PAYMENT_CAPACITY_EXCEEDED,)
    assert result.failures[0].message.endswith(
        "es decir $2,340.00, y tus descuentos actuales ya llegan a ese límite."
    )
    assert result.failures[0].figures["max_payment"] == D("0.00")
    assert result.max_amount is None


@pytest.mark.parametrize("status", ["pensionado", "jubilado"])
def test_a_pensioner_must_keep_the_minimum_net_pension(status):
    # given $7,800.00 of pension and a floor of $3,500.00: room for $4,300.00 a quincena
    affiliate = AffiliateFactsFactory(status=status)

    # when $100,000.00 over 24 quincenas costs $4,443.33
    result = evaluate(
        affiliate=affiliate, product=pensioner_product(), amount=D("100000.00"), quincenas=24
    )

    assert result.codes == (Rule.PENSION_FLOOR,)
    failure = result.failures[0]
    assert failure.message == (
        "Con un pago quincenal de $4,443.33 te quedarían $3,356.67 de pensión neta por "
        "quincena, y deben quedarte al menos $3,500.00."
    )
    assert failure.figures == {
        "net_pay": D("7800.00"),
        "deductions_after": D("4443.33"),
        "payment": D("4443.33"),
        "remaining_pension": D("3356.67"),
        "pension_floor": D("3500.00"),
        "max_payment": D("4300.00"),
    }


def test_the_pension_floor_does_not_apply_to_an_active_worker():
    affiliate = AffiliateFactsFactory(status="activo")

    result = evaluate(
        affiliate=affiliate, product=pensioner_product(), amount=D("100000.00"), quincenas=24
    )

    assert result.eligible


def test_a_pensioner_within_the_floor_is_eligible():
    affiliate = AffiliateFactsFactory(status="pensionado")

    result = evaluate(
        affiliate=affiliate, product=pensioner_product(), amount=D("90000.00"), quincenas=24
    )

    assert result.eligible


def test_pension_statuses_are_the_affiliate_statuses_of_pensioners_and_retirees():
    assert {AffiliateStatus.PENSIONER.value, AffiliateStatus.RETIREE.value} == PENSION_STATUSES


# --- Renewal ------------------------------------------------------------------------------------


def test_renewing_before_paying_the_required_fraction_says_what_is_missing():
    # given a PC loan with 14 of 40 installments paid (35 %)
    loan = ExistingLoanFactory(installments_paid=14, balance=D("14000.00"))
    affiliate = AffiliateFactsFactory(current_deductions_quincenal=D("600.00"), loans=(loan,))

    result = evaluate(
        affiliate=affiliate, product=ProductTermsFactory(), amount=D("50000.00"), quincenas=48
    )

    assert result.codes == (Rule.RENEWAL_FRACTION_NOT_MET,)
    failure = result.failures[0]
    assert failure.message == (
        "Has pagado el 35% de tu préstamo vigente; para renovarlo necesitas haber pagado al "
        "menos el 50%. Llevas 14 de 40 pagos; te faltan 6 pagos quincenales."
    )
    assert failure.figures == {
        "paid_fraction": D("0.35"),
        "required_fraction": D("0.50"),
        "missing_fraction": D("0.15"),
        "installments_paid": 14,
        "installments_total": 40,
        "missing_installments": 6,
    }
    assert result.max_amount is None
    assert result.best_offer() is None


def test_a_paid_share_just_below_the_requirement_is_not_shown_rounded_up():
    # 35 of 72 is 48.61 %, 36 would be 50 %
    loan = ExistingLoanFactory(installments_paid=35, installments_total=72)
    affiliate = AffiliateFactsFactory(current_deductions_quincenal=D("600.00"), loans=(loan,))

    result = evaluate(
        affiliate=affiliate, product=ProductTermsFactory(), amount=D("50000.00"), quincenas=48
    )

    assert result.failures[0].message == (
        "Has pagado el 48.6% de tu préstamo vigente; para renovarlo necesitas haber pagado al "
        "menos el 50%. Llevas 35 de 72 pagos; te falta 1 pago quincenal."
    )


def test_a_renewal_nets_the_previous_balance_and_frees_its_payment():
    # given a half-paid PC loan ($11,000.00 left, $600.00 a quincena) and $1,700.00 of
    # deductions in all: $1,100.00 remain once the PC loan is renewed
    loan = ExistingLoanFactory()
    affiliate = AffiliateFactsFactory(current_deductions_quincenal=D("1700.00"), loans=(loan,))

    result = evaluate(
        affiliate=affiliate, product=ProductTermsFactory(), amount=D("50000.00"), quincenas=48
    )

    # then $1,100.00 + $1,193.49 fits in $2,340.00, and the balance is paid from the new loan
    assert result.eligible
    assert result.previous_balance_netted == D("11000.00")
    assert result.net_to_receive == D("39000.00")
    assert result.summary() == (
        "Puedes solicitar $50,000.00 a 48 quincenas, con un pago quincenal de $1,193.49. Del "
        "préstamo se descuenta el saldo de tu préstamo vigente ($11,000.00); recibirías "
        "$39,000.00."
    )


def test_a_loan_of_another_product_is_neither_netted_nor_freed():
    # the same figures, but the loan is of product PE: it stays, and so does its payment
    loan = ExistingLoanFactory(product_code="PE")
    affiliate = AffiliateFactsFactory(current_deductions_quincenal=D("1700.00"), loans=(loan,))

    result = evaluate(
        affiliate=affiliate, product=ProductTermsFactory(), amount=D("50000.00"), quincenas=48
    )

    assert result.codes == (Rule.PAYMENT_CAPACITY_EXCEEDED,)
    assert result.previous_balance_netted == D("0.00")
    assert result.net_to_receive == D("50000.00")


def test_a_paid_off_loan_of_the_same_product_is_not_a_renewal():
    loan = ExistingLoanFactory(balance=D("0.00"), installments_paid=3, installments_total=40)

    result = evaluate(
        affiliate=AffiliateFactsFactory(loans=(loan,)),
        product=ProductTermsFactory(),
        amount=D("50000.00"),
        quincenas=48,
    )

    assert result.eligible
    assert result.previous_balance_netted == D("0.00")


def test_a_renewal_that_leaves_nothing_to_receive_fails_alone():
    loan = ExistingLoanFactory()
    affiliate = AffiliateFactsFactory(current_deductions_quincenal=D("600.00"), loans=(loan,))

    result = evaluate(
        affiliate=affiliate, product=ProductTermsFactory(), amount=D("10000.00"), quincenas=24
    )

    assert result.codes == (Rule.RENEWAL_NET_NOT_POSITIVE,)
    failure = result.failures[0]
    assert failure.message == (
        "El saldo de tu préstamo vigente ($11,000.00) se descuenta del nuevo préstamo, así que "
        "con $10,000.00 no recibirías nada; solicita más de $11,000.00."
    )
    assert failure.figures == {"previous_balance": D("11000.00"), "amount": D("10000.00")}
    assert result.net_to_receive == D("0.00")


# --- Several at once ----------------------------------------------------------------------------


def test_every_failing_rule_is_listed_in_order():
    # given a blocked pensioner asking the PC product for too much, too long
    affiliate = AffiliateFactsFactory(status="pensionado", is_blocked=True)

    result = evaluate(
        affiliate=affiliate, product=ProductTermsFactory(), amount=D("300000.00"), quincenas=120
    )

    assert result.codes == (
        Rule.STATUS_NOT_ALLOWED,
        Rule.BLOCKED,
        Rule.AMOUNT_ABOVE_MAXIMUM,
        Rule.TERM_OUT_OF_RANGE,
        Rule.AMOUNT_ABOVE_SALARY_LIMIT,
        Rule.PAYMENT_CAPACITY_EXCEEDED,
    )
    assert all(failure.message for failure in result.failures)
    assert result.max_amount is None
    assert result.best_offer() is None
    assert result.summary() == (
        "No es posible otorgarte $300,000.00 a 120 quincenas. "
        "Por ahora no puedes solicitar este préstamo."
    )


# --- The largest loan that passes ---------------------------------------------------------------


def assert_is_the_largest_passing(*, affiliate, product, amount, quincenas):
    assert evaluate(
        affiliate=affiliate, product=product, amount=amount, quincenas=quincenas
    ).eligible
    one_peso_more = evaluate(
        affiliate=affiliate, product=product, amount=amount + 1, quincenas=quincenas
    )
    assert not one_peso_more.eligible
    return one_peso_more


def test_max_amount_when_payment_capacity_binds():
    # given $1,500.00 of deductions: $840.00 a quincena left
    affiliate = AffiliateFactsFactory(current_deductions_quincenal=D("1500.00"))
    product = ProductTermsFactory()

    result = evaluate(affiliate=affiliate, product=product, amount=D("50000.00"), quincenas=48)

    # then the largest loan over 48 quincenas is the one $840.00 pays, in whole pesos
    assert result.max_amount == D("35191")
    assert result.max_amount == amount_for_payment(
        payment=D("840.00"), annual_rate=D("0.1367"), quincenas=48, convention="nominal"
    ).quantize(D("1"), rounding="ROUND_DOWN")
    failing = assert_is_the_largest_passing(
        affiliate=affiliate, product=product, amount=result.max_amount, quincenas=48
    )
    assert failing.codes == (Rule.PAYMENT_CAPACITY_EXCEEDED,)
    assert result.summary() == (
        "No es posible otorgarte $50,000.00 a 48 quincenas. "
        "Puedes solicitar hasta $35,191.00 a 48 quincenas."
    )


def test_max_amount_when_the_salary_limit_binds():
    affiliate = AffiliateFactsFactory()
    product = ProductTermsFactory()

    assert max_amount(affiliate=affiliate, product=product, quincenas=48) == D("76000")
    failing = assert_is_the_largest_passing(
        affiliate=affiliate, product=product, amount=D("76000"), quincenas=48
    )
    assert failing.codes == (Rule.AMOUNT_ABOVE_SALARY_LIMIT,)


def test_max_amount_when_the_product_maximum_binds():
    affiliate = AffiliateFactsFactory()
    product = ProductTermsFactory(max_amount=D("40000.00"))

    assert max_amount(affiliate=affiliate, product=product, quincenas=48) == D("40000")
    failing = assert_is_the_largest_passing(
        affiliate=affiliate, product=product, amount=D("40000"), quincenas=48
    )
    assert failing.codes == (Rule.AMOUNT_ABOVE_MAXIMUM,)


def test_max_amount_when_the_pension_floor_binds():
    affiliate = AffiliateFactsFactory(status="jubilado")
    product = pensioner_product()

    amount = max_amount(affiliate=affiliate, product=product, quincenas=24)

    assert quote(amount=amount, annual_rate=D("0.125"), quincenas=24).payment <= D("4300.00")
    failing = assert_is_the_largest_passing(
        affiliate=affiliate, product=product, amount=amount, quincenas=24
    )
    assert failing.codes == (Rule.PENSION_FLOOR,)


def test_max_amount_must_exceed_the_balance_it_renews():
    # given a half-paid loan with $60,000.00 left: over 24 quincenas $2,340.00 pays only
    # $52,351.66, which would leave nothing to receive; over 48 the salary limit allows $76,000
    loan = ExistingLoanFactory(balance=D("60000.00"))
    affiliate = AffiliateFactsFactory(current_deductions_quincenal=D("600.00"), loans=(loan,))
    product = ProductTermsFactory()

    assert max_amount(affiliate=affiliate, product=product, quincenas=24) is None
    assert max_amount(affiliate=affiliate, product=product, quincenas=48) == D("76000")


def test_there_is_no_max_amount_for_a_term_outside_the_range():
    assert (
        max_amount(affiliate=AffiliateFactsFactory(), product=ProductTermsFactory(), quincenas=120)
        is None
    )


def test_the_best_offer_is_the_largest_amount_over_every_term():
    # given room for $840.00 a quincena: the longest term lends the most
    affiliate = AffiliateFactsFactory(current_deductions_quincenal=D("1500.00"))
    product = ProductTermsFactory()

    offer = best_offer(affiliate=affiliate, product=product)

    assert offer.quincenas == 96
    assert offer.amount == D("61984")
    assert offer.payment <= D("840.00")
    assert offer.net_to_receive == D("61984")
    assert_is_the_largest_passing(
        affiliate=affiliate, product=product, amount=offer.amount, quincenas=96
    )
    for quincenas in range(24, 96):
        assert max_amount(affiliate=affiliate, product=product, quincenas=quincenas) < offer.amount


def test_the_best_offer_takes_the_shortest_term_that_reaches_the_limit():
    # given room for $2,340.00 a quincena and a salary limit of $76,000.00: 36 quincenas lend
    # $75,969, 37 already reach the limit
    affiliate = AffiliateFactsFactory()
    product = ProductTermsFactory()

    offer = evaluate(
        affiliate=affiliate, product=product, amount=D("90000.00"), quincenas=48
    ).best_offer()

    assert (offer.amount, offer.quincenas) == (D("76000"), 37)
    assert max_amount(affiliate=affiliate, product=product, quincenas=36) == D("75969")
    assert_is_the_largest_passing(
        affiliate=affiliate, product=product, amount=offer.amount, quincenas=37
    )


def test_a_term_out_of_range_points_to_the_best_offer():
    affiliate = AffiliateFactsFactory(current_deductions_quincenal=D("1500.00"))

    result = evaluate(
        affiliate=affiliate, product=ProductTermsFactory(), amount=D("20000.00"), quincenas=120
    )

    assert result.max_amount is None
    assert result.summary() == (
        "No es posible otorgarte $20,000.00 a 120 quincenas. "
        "Puedes solicitar hasta $61,984.00 a 96 quincenas."
    )
    assert pesos(result.best_offer().amount) == "$61,984.00"


def test_a_renewal_best_offer_reports_what_the_affiliate_receives():
    loan = ExistingLoanFactory()
    affiliate = AffiliateFactsFactory(current_deductions_quincenal=D("600.00"), loans=(loan,))

    offer = best_offer(affiliate=affiliate, product=ProductTermsFactory())

    assert offer.amount == D("76000")
    assert offer.net_to_receive == D("65000")


def test_an_amount_too_small_for_any_schedule_is_refused_not_a_server_error():
    # Given a product whose limits allow a few pesos over a long term at a high rate
    product = ProductTermsFactory(
        min_amount=Decimal("1.00"), max_quincenas=144, annual_rate=Decimal("0.40")
    )

    # When someone asks for 20 pesos over 144 quincenas (some installment pays no principal)
    result = evaluate(
        affiliate=AffiliateFactsFactory(), product=product, amount=Decimal("20"), quincenas=144
    )

    # Then it is refused with a reason, and there is no quote
    assert not result.eligible
    assert result.quote is None
    assert result.failures
