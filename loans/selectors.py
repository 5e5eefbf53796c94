"""Reads of the loans app that cross relations: products on offer, the schedule of an
application's accepted terms, and the plain facts `loans.eligibility` needs, built from the
affiliate read model and a product with its bands.
"""

from datetime import date

from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from affiliates.models import Affiliate
from loans import audit
from loans.amortization import InterestConvention, Quote, quote
from loans.eligibility import AffiliateFacts, ExistingLoan, ProductTerms, SalaryBand
from loans.models import (
    ApplicationEvent,
    AuditChainHead,
    LoanApplication,
    LoanProduct,
    SeniorityBand,
)
from loans.workflow import ApplicationStatus

# Applications withdrawn or lapsed do not make a CLABE "shared": the money never went anywhere.
CLABE_SHARING_IGNORED = (ApplicationStatus.CANCELLED, ApplicationStatus.EXPIRED)


def products_available(*, on: date) -> QuerySet[LoanProduct]:
    """Active products valid on `on`, by code, with their seniority bands prefetched."""
    return (
        LoanProduct.objects.available_on(on)
        .prefetch_related(
            Prefetch("seniority_bands", queryset=SeniorityBand.objects.order_by("from_months"))
        )
        .order_by("code")
    )


def clabe_shared_with(*, clabe: str, affiliate_id: int) -> QuerySet[LoanApplication]:
    """Other affiliates' applications (not cancelled nor expired) that hold `clabe`: the
    same account for two people's loans is worth a second look (one may be an intermediary
    collecting others' loans). The affiliate's own applications do not count."""
    if not clabe:
        return LoanApplication.objects.none()
    return (
        LoanApplication.objects.filter(clabe=clabe)
        .exclude(affiliate_id=affiliate_id)
        .exclude(status__in=CLABE_SHARING_IGNORED)
    )


def clabe_shared_annotation() -> Exists:
    """`clabe_shared_with` as a column of a query of applications (one query for a list)."""
    return Exists(
        LoanApplication.objects.filter(clabe=OuterRef("clabe"))
        .exclude(clabe="")
        .exclude(affiliate_id=OuterRef("affiliate_id"))
        .exclude(status__in=CLABE_SHARING_IGNORED)
    )


def application_quote(*, application: LoanApplication) -> Quote:
    """The schedule, totals and CAT of the terms stored on the application.

    From the application's own terms, never the product's current ones: they are what the
    applicant accepted and signs. Raises QuoteError if they cannot be quoted.
    """
    return quote(
        amount=application.amount,
        annual_rate=application.annual_rate,
        quincenas=application.quincenas,
        convention=application.interest_convention,
        fund_rate=application.fund_rate,
    )


def affiliate_facts(*, affiliate: Affiliate, on: date) -> AffiliateFacts:
    """What eligibility needs to know of an affiliate, with seniority counted up to `on`."""
    years, months = affiliate.seniority(on)
    loans = tuple(
        ExistingLoan(
            product_code=loan.product_code,
            original_amount=loan.original_amount,
            balance=loan.balance,
            installments_paid=loan.installments_paid,
            installments_total=loan.installments_total,
            quincenal_payment=loan.quincenal_payment,
        )
        for loan in affiliate.loans.order_by("product_code", "pk")
    )
    return AffiliateFacts(
        status=affiliate.status,
        seniority_months=years * 12 + months,
        is_blocked=affiliate.is_blocked,
        base_salary_quincenal=affiliate.base_salary,
        net_pay_quincenal=affiliate.net_pay,
        current_deductions_quincenal=affiliate.current_deductions,
        loans=loans,
    )


def product_terms(*, product: LoanProduct) -> ProductTerms:
    """The product's rule values as eligibility applies them (bands in prefetch order)."""
    bands = sorted(product.seniority_bands.all(), key=lambda band: band.from_months)
    return ProductTerms(
        code=product.code,
        name=product.name,
        allowed_statuses=frozenset(str(status) for status in product.allowed_statuses),
        annual_rate=product.annual_rate,
        convention=InterestConvention(product.interest_convention),
        min_quincenas=product.min_quincenas,
        max_quincenas=product.max_quincenas,
        min_amount=product.min_amount,
        max_amount=product.max_amount,
        min_seniority_months=product.min_seniority_months,
        salary_bands=tuple(
            SalaryBand(from_months=band.from_months, salary_multiple=band.salary_multiple)
            for band in bands
        ),
        max_deduction_share=product.max_deduction_share,
        pension_floor=product.pension_floor,
        fund_rate=product.fund_rate,
        renewal_paid_fraction=product.renewal_paid_fraction,
    )


def audit_chain_report() -> audit.ChainReport:
    """The whole chain of application events checked against its head (`verify_audit`)."""
    head = AuditChainHead.objects.filter(pk=1).first()
    rows = (
        {**row, "folio": row.pop("application__folio")}
        for row in ApplicationEvent.objects.order_by("sequence")
        .values(
            "id",
            "sequence",
            "application_id",
            "application__folio",
            "from_status",
            "to_status",
            "actor_id",
            "reason",
            "ip_address",
            "created_at",
            "previous_hash",
            "hash",
        )
        .iterator(chunk_size=2000)
    )
    return audit.verify_chain(
        rows,
        head_sequence=head.last_sequence if head else None,
        head_hash=head.last_hash if head else None,
    )
