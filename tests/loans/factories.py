"""Factories for loan products (database) and for the plain inputs of `loans.eligibility`.

The defaults follow the demo "PC" product and an active worker with ten years of seniority, a
quincenal base salary of $9,500.00 (monthly $19,000.00), a net pay of $7,800.00 and no
deductions, so a test states only the values its rule is about.
"""

from datetime import date
from decimal import Decimal

import factory

from affiliates.models import AffiliateStatus
from loans.amortization import InterestConvention
from loans.eligibility import AffiliateFacts, ExistingLoan, ProductTerms, SalaryBand
from loans.models import LoanProduct, SeniorityBand
from loans.services import QuoteTerms

PC_BANDS = ((6, Decimal("2")), (60, Decimal("4")), (180, Decimal("6")))


class LoanProductFactory(factory.django.DjangoModelFactory):
    """A product with the PC bands; `bands=[(months, multiple), ...]` replaces them."""

    class Meta:
        model = LoanProduct
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"T{n:03d}")
    name = factory.Sequence(lambda n: f"Préstamo de prueba {n}")
    description = "Producto de prueba."
    allowed_statuses = factory.LazyFunction(lambda: [AffiliateStatus.ACTIVE.value])
    annual_rate = Decimal("0.1367")
    interest_convention = InterestConvention.NOMINAL.value
    min_quincenas = 24
    max_quincenas = 96
    min_amount = Decimal("5000.00")
    max_amount = Decimal("250000.00")
    min_seniority_months = 6
    max_deduction_share = Decimal("0.30")
    pension_floor = Decimal("0.00")
    fund_rate = Decimal("0.01")
    renewal_paid_fraction = Decimal("0.50")
    is_active = True
    valid_from = date(2026, 1, 1)
    valid_until = None

    @factory.post_generation
    def bands(self, create, extracted, **kwargs):
        if not create:
            return
        for months, multiple in PC_BANDS if extracted is None else extracted:
            SeniorityBand.objects.create(
                product=self, from_months=months, salary_multiple=Decimal(multiple)
            )


class ExistingLoanFactory(factory.Factory):
    """A PC loan of $20,000.00 over 40 quincenas, half paid."""

    class Meta:
        model = ExistingLoan

    product_code = "PC"
    original_amount = Decimal("20000.00")
    balance = Decimal("11000.00")
    installments_paid = 20
    installments_total = 40
    quincenal_payment = Decimal("600.00")


class AffiliateFactsFactory(factory.Factory):
    class Meta:
        model = AffiliateFacts

    status = AffiliateStatus.ACTIVE.value
    seniority_months = 120
    is_blocked = False
    base_salary_quincenal = Decimal("9500.00")
    net_pay_quincenal = Decimal("7800.00")
    current_deductions_quincenal = Decimal("0.00")
    loans = ()


class ProductTermsFactory(factory.Factory):
    """The PC product's rules as eligibility sees them."""

    class Meta:
        model = ProductTerms

    code = "PC"
    name = "Préstamo personal para trabajadores activos"
    allowed_statuses = frozenset({AffiliateStatus.ACTIVE.value})
    annual_rate = Decimal("0.1367")
    convention = InterestConvention.NOMINAL
    min_quincenas = 24
    max_quincenas = 96
    min_amount = Decimal("5000.00")
    max_amount = Decimal("250000.00")
    min_seniority_months = 6
    salary_bands = tuple(
        SalaryBand(from_months=months, salary_multiple=multiple) for months, multiple in PC_BANDS
    )
    max_deduction_share = Decimal("0.30")
    pension_floor = Decimal("0.00")
    fund_rate = Decimal("0.01")
    renewal_paid_fraction = Decimal("0.50")


# A typical loan of the program (60,000.00 at 13.67 % over 59 quincenas), as accepted terms.
EXAMPLE_TERMS = QuoteTerms(
    amount=Decimal("60000.00"),
    quincenas=59,
    annual_rate=Decimal("0.1367"),
    interest_convention="nominal",
    fund_rate=Decimal("0"),
    payment=Decimal("1200.24"),
    cat=Decimal("14.6"),
    previous_balance=Decimal("0.00"),
    net_to_receive=Decimal("60000.00"),
)
