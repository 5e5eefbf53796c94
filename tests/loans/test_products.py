"""Loan products: what the database refuses, what `clean()` explains, which products are on offer
on a day, the demo products, and the facts eligibility reads from the models."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from affiliates.models import AffiliateStatus
from demo.products import seed_products
from loans.amortization import InterestConvention
from loans.eligibility import ExistingLoan, SalaryBand, evaluate
from loans.models import LoanProduct, SeniorityBand
from loans.selectors import affiliate_facts, product_terms, products_available
from tests.factories import AffiliateFactory, AffiliateLoanFactory
from tests.loans.factories import LoanProductFactory

D = Decimal


# --- Database constraints -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"min_quincenas": 48, "max_quincenas": 24},
        {"min_quincenas": 0},
        {"max_quincenas": 1000},
        {"min_amount": D("9000.00"), "max_amount": D("8000.00")},
        {"min_amount": D("0.00")},
        {"annual_rate": D("-0.01")},
        {"annual_rate": D("1.367")},
        {"fund_rate": D("-0.001")},
        {"max_deduction_share": D("1.5")},
        {"renewal_paid_fraction": D("-0.5")},
        {"pension_floor": D("-1.00")},
        {"valid_from": date(2026, 6, 1), "valid_until": date(2026, 5, 31)},
    ],
    ids=lambda values: ",".join(values),
)
@pytest.mark.django_db
def test_the_database_refuses_inconsistent_products(values):
    with pytest.raises(IntegrityError), transaction.atomic():
        LoanProductFactory(**values)

    assert not LoanProduct.objects.exists()


@pytest.mark.django_db
def test_a_product_code_is_unique():
    LoanProductFactory(code="PC")

    with pytest.raises(IntegrityError), transaction.atomic():
        LoanProductFactory(code="PC")


@pytest.mark.django_db
def test_a_product_has_one_band_per_starting_month():
    product = LoanProductFactory(bands=[(6, "2")])

    with pytest.raises(IntegrityError), transaction.atomic():
        SeniorityBand.objects.create(product=product, from_months=6, salary_multiple=D("3"))

    assert product.seniority_bands.count() == 1


@pytest.mark.django_db
def test_a_band_multiple_must_be_positive():
    product = LoanProductFactory(bands=[])

    with pytest.raises(IntegrityError), transaction.atomic():
        SeniorityBand.objects.create(product=product, from_months=6, salary_multiple=D("0"))


@pytest.mark.django_db
def test_deleting_a_product_deletes_its_bands():
    product = LoanProductFactory()

    product.delete()

    assert not SeniorityBand.objects.exists()


# --- clean() ------------------------------------------------------------------------------------


def unsaved_product(**overrides) -> LoanProduct:
    return LoanProductFactory.build(**overrides)


# full_clean() checks the constraints with a query.
@pytest.mark.django_db
def test_a_valid_product_passes_full_clean():
    unsaved_product(allowed_statuses=["pensionado", "jubilado"]).full_clean(validate_unique=False)


@pytest.mark.parametrize(
    ("statuses", "message"),
    [
        ([], "Elija al menos un estatus."),
        ("activo", "Elija al menos un estatus."),
        (["activo", "retirado"], "Estatus no válidos: retirado."),
        (["baja"], "Estatus no válidos: baja."),
        (["activo", "activo"], "Cada estatus debe aparecer una sola vez."),
    ],
)
def test_clean_explains_invalid_statuses(statuses, message):
    product = unsaved_product(allowed_statuses=statuses)

    with pytest.raises(ValidationError) as raised:
        product.clean()

    assert message in raised.value.message_dict["allowed_statuses"][0]


def test_clean_explains_inverted_ranges_and_dates():
    product = unsaved_product(
        min_quincenas=96,
        max_quincenas=24,
        min_amount=D("9000.00"),
        max_amount=D("8000.00"),
        valid_from=date(2026, 6, 1),
        valid_until=date(2026, 5, 1),
    )

    with pytest.raises(ValidationError) as raised:
        product.clean()

    errors = raised.value.message_dict
    assert errors["max_quincenas"] == ["El plazo máximo no puede ser menor que el mínimo."]
    assert errors["max_amount"] == ["El monto máximo no puede ser menor que el mínimo."]
    assert errors["valid_until"] == ["La fecha de término no puede ser anterior a la de inicio."]


# full_clean() checks the constraints with a query.
@pytest.mark.django_db
def test_full_clean_refuses_a_rate_typed_as_a_percentage():
    product = unsaved_product(annual_rate=D("13.67"))

    with pytest.raises(ValidationError) as raised:
        product.full_clean(validate_unique=False)

    assert "annual_rate" in raised.value.message_dict


def test_a_product_reads_as_its_name_and_code():
    assert str(unsaved_product(code="PC", name="Préstamo personal")) == "Préstamo personal (PC)"


# --- Products on offer --------------------------------------------------------------------------


@pytest.mark.django_db
def test_products_available_are_the_active_ones_valid_on_the_day():
    # given products valid around 2026-06-15
    open_ended = LoanProductFactory(code="A", valid_from=date(2026, 1, 1))
    ends_that_day = LoanProductFactory(
        code="B", valid_from=date(2026, 1, 1), valid_until=date(2026, 6, 15)
    )
    starts_that_day = LoanProductFactory(code="C", valid_from=date(2026, 6, 15))
    LoanProductFactory(code="D", valid_from=date(2026, 1, 1), is_active=False)
    LoanProductFactory(code="E", valid_from=date(2026, 6, 16))
    LoanProductFactory(code="F", valid_from=date(2026, 1, 1), valid_until=date(2026, 6, 14))

    # when asking for the products on offer that day
    available = list(products_available(on=date(2026, 6, 15)))

    # then only the active ones whose validity includes it, by code
    assert available == [open_ended, ends_that_day, starts_that_day]
    assert all(product.is_available_on(date(2026, 6, 15)) for product in available)


@pytest.mark.django_db
def test_products_available_bring_their_bands_in_one_query(django_assert_num_queries):
    LoanProductFactory(code="A", valid_from=date(2026, 1, 1))
    LoanProductFactory(code="B", valid_from=date(2026, 1, 1), bands=[(0, "3")])

    with django_assert_num_queries(2):
        terms = [product_terms(product=p) for p in products_available(on=date(2026, 6, 15))]

    assert [len(t.salary_bands) for t in terms] == [3, 1]


# --- Demo products ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_products_creates_the_three_demo_products():
    seed_products()

    products = {product.code: product for product in LoanProduct.objects.all()}
    assert set(products) == {"PC", "PJ", "PE"}
    pc, pj, pe = products["PC"], products["PJ"], products["PE"]
    assert pc.allowed_statuses == ["activo"]
    assert pc.annual_rate == D("0.1367")
    assert (pc.min_quincenas, pc.max_quincenas) == (24, 96)
    assert (pc.min_amount, pc.max_amount) == (D("5000.00"), D("250000.00"))
    assert list(pc.seniority_bands.values_list("from_months", "salary_multiple")) == [
        (6, D("2.00")),
        (60, D("4.00")),
        (180, D("6.00")),
    ]
    assert pj.allowed_statuses == ["pensionado", "jubilado"]
    assert pj.pension_floor == D("3500.00")
    assert pe.min_seniority_months == 180
    assert pe.max_amount == D("400000.00")
    assert list(pe.seniority_bands.values_list("from_months", "salary_multiple")) == [
        (180, D("8.00"))
    ]
    for product in products.values():
        product.full_clean()
        assert "DEMOSTRACIÓN" in product.description
        assert product.is_available_on(timezone.localdate())


@pytest.mark.django_db
def test_seed_products_twice_changes_nothing_and_restores_demo_values():
    # given the demo products, one of them edited by hand
    seed_products()
    before = list(LoanProduct.objects.order_by("code").values())
    bands_before = list(SeniorityBand.objects.order_by("product__code", "from_months").values())
    pc = LoanProduct.objects.get(code="PC")
    LoanProduct.objects.filter(pk=pc.pk).update(annual_rate=D("0.5"))
    SeniorityBand.objects.create(product=pc, from_months=300, salary_multiple=D("10"))

    # when seeding again
    seed_products()

    # then the same rows, with the same ids, hold the demo values again
    assert list(LoanProduct.objects.order_by("code").values()) == before
    assert (
        list(SeniorityBand.objects.order_by("product__code", "from_months").values())
        == bands_before
    )


# --- From the models to eligibility -------------------------------------------------------------


@pytest.mark.django_db
def test_affiliate_facts_come_from_the_read_model():
    # given an affiliate contributing since 2016-01-16 with one loan
    affiliate = AffiliateFactory(
        status=AffiliateStatus.PENSIONER,
        contribution_start=date(2016, 1, 16),
        base_salary=D("8000.00"),
        net_pay=D("6500.00"),
        current_deductions=D("720.50"),
        is_blocked=True,
    )
    AffiliateLoanFactory(affiliate=affiliate, product_code="PJ")

    # when reading them on 2026-07-15 (one day short of 10 years and 6 months)
    facts = affiliate_facts(affiliate=affiliate, on=date(2026, 7, 15))

    assert facts.status == "pensionado"
    assert facts.seniority_months == 125
    assert facts.is_blocked
    assert facts.base_salary_quincenal == D("8000.00")
    assert facts.monthly_salary == D("16000.00")
    assert facts.net_pay_quincenal == D("6500.00")
    assert facts.current_deductions_quincenal == D("720.50")
    assert facts.loans == (
        ExistingLoan(
            product_code="PJ",
            original_amount=D("40000.00"),
            balance=D("22000.00"),
            installments_paid=30,
            installments_total=72,
            quincenal_payment=D("720.50"),
        ),
    )


@pytest.mark.django_db
def test_product_terms_come_from_the_product_and_its_bands():
    product = LoanProductFactory(
        code="PX",
        allowed_statuses=["pensionado", "jubilado"],
        interest_convention="effective",
        bands=[(60, "4"), (6, "2")],
    )

    terms = product_terms(product=product)

    assert terms.code == "PX"
    assert terms.allowed_statuses == {"pensionado", "jubilado"}
    assert terms.convention is InterestConvention.EFFECTIVE
    assert terms.annual_rate == D("0.1367")
    assert terms.salary_bands == (
        SalaryBand(from_months=6, salary_multiple=D("2")),
        SalaryBand(from_months=60, salary_multiple=D("4")),
    )
    assert (terms.max_deduction_share, terms.renewal_paid_fraction) == (D("0.30"), D("0.50"))


@pytest.mark.django_db
def test_a_demo_affiliate_evaluated_against_a_demo_product():
    # given the demo PC product and a worker with 10 years, a half-paid PC loan among them
    seed_products()
    affiliate = AffiliateFactory(
        contribution_start=date(2016, 1, 16),
        base_salary=D("9500.00"),
        net_pay=D("7800.00"),
        current_deductions=D("600.00"),
    )
    AffiliateLoanFactory(
        affiliate=affiliate,
        product_code="PC",
        balance=D("11000.00"),
        installments_paid=20,
        installments_total=40,
        quincenal_payment=D("600.00"),
    )
    (pc,) = [p for p in products_available(on=date(2026, 7, 16)) if p.code == "PC"]

    result = evaluate(
        affiliate=affiliate_facts(affiliate=affiliate, on=date(2026, 7, 16)),
        product=product_terms(product=pc),
        amount=D("50000.00"),
        quincenas=48,
    )

    assert result.eligible
    assert result.net_to_receive == D("39000.00")
