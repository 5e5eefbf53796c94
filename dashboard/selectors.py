"""The program's figures for a period of whole months, read from the monthly tallies that
`dashboard.reporting` keeps: a fixed number of queries whatever the number of applications."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Sum

from affiliates.models import Employer
from dashboard.models import ProgramTally, TallyDimension, TallyMonth
from isseg_portal.institute_time import months_between
from loans.models import LoanProduct, RejectionReason
from loans.workflow import ApplicationStatus


@dataclass(frozen=True)
class BreakdownRow:
    key: str
    label: str
    received: int
    paid: int
    amount_requested: Decimal
    amount_paid: Decimal


@dataclass(frozen=True)
class MonthRow:
    month: date
    received: int
    paid: int
    amount_paid: Decimal


@dataclass(frozen=True)
class ReasonRow:
    code: str
    label: str
    applications: int


@dataclass(frozen=True)
class ProgramFigures:
    """The applications received in [first_month, last_month] (whole months) and where each
    stands now. Rates are percentages; the term is in quincenas."""

    first_month: date
    last_month: date
    by_status: dict[str, int]
    amount_by_status: dict[str, Decimal]
    received: int
    amount_requested: Decimal
    amount_approved: Decimal
    amount_paid: Decimal
    interest_paid: Decimal
    weighted_rate: Decimal | None
    weighted_term: Decimal | None
    median_days_to_payment: Decimal | None
    rejection_reasons: list[ReasonRow]
    by_product: list[BreakdownRow]
    by_employer: list[BreakdownRow]
    by_municipality: list[BreakdownRow]
    by_month: list[MonthRow]

    @property
    def paid(self) -> int:
        return self.by_status[ApplicationStatus.DISBURSED]


def program_first_month() -> date | None:
    """The first month with received applications, or None when there are none."""
    return TallyMonth.objects.order_by("month").values_list("month", flat=True).first()


def program_figures(*, first_month: date, last_month: date) -> ProgramFigures:
    """From the monthly tallies (`loans.reporting`): a fixed number of queries whatever the
    number of applications. Call `dashboard.reporting.tally_refresh_stale()` first for exact
    figures."""
    tallies = ProgramTally.objects.filter(month__gte=first_month, month__lte=last_month)
    grouped = (
        tallies.values("dimension", "key", "status")
        .annotate(
            total=Sum("applications"),
            amount_sum=Sum("amount"),
            paid_sum=Sum("amount_paid"),
            interest_sum=Sum("interest"),
            rate_sum=Sum("rate_weight"),
            term_sum=Sum("term_weight"),
        )
        .order_by()
    )
    by_dimension: dict[str, list[dict]] = defaultdict(list)
    for row in grouped:
        # Sums of DecimalFields come back with the backend's scale (SQLite: ten places).
        for name in ("amount_sum", "paid_sum", "interest_sum", "term_sum"):
            row[name] = _cents(row[name])
        by_dimension[row["dimension"]].append(row)

    statuses = dict.fromkeys(ApplicationStatus.values, 0)
    amounts = {status: Decimal("0.00") for status in ApplicationStatus.values}
    interest = rate_weight = term_weight = Decimal("0")
    amount_paid = Decimal("0.00")
    for row in by_dimension[TallyDimension.TOTAL]:
        statuses[row["status"]] += row["total"]
        amounts[row["status"]] += row["amount_sum"]
        if row["status"] == ApplicationStatus.DISBURSED:
            amount_paid += row["paid_sum"]
            interest += row["interest_sum"]
            rate_weight += row["rate_sum"]
            term_weight += row["term_sum"]
    paid_principal = amounts[ApplicationStatus.DISBURSED]

    return ProgramFigures(
        first_month=first_month,
        last_month=last_month,
        by_status=statuses,
        amount_by_status=amounts,
        received=sum(statuses.values()),
        amount_requested=sum(amounts.values(), Decimal("0.00")),
        amount_approved=amounts[ApplicationStatus.APPROVED] + paid_principal,
        amount_paid=amount_paid,
        interest_paid=interest,
        weighted_rate=(
            (rate_weight * 100 / paid_principal).quantize(Decimal("0.01"))
            if paid_principal
            else None
        ),
        weighted_term=(
            (term_weight / paid_principal).quantize(Decimal("0.1")) if paid_principal else None
        ),
        median_days_to_payment=_median_from_histogram(
            {int(row["key"]): row["total"] for row in by_dimension[TallyDimension.DAYS_TO_PAYMENT]}
        ),
        rejection_reasons=sorted(
            (
                ReasonRow(
                    code=row["key"],
                    label=str(RejectionReason(row["key"]).label)
                    if row["key"] in RejectionReason.values
                    else row["key"] or "—",
                    applications=row["total"],
                )
                for row in by_dimension[TallyDimension.REJECTION]
            ),
            key=lambda reason: (-reason.applications, reason.label),
        ),
        by_product=_breakdown(
            by_dimension[TallyDimension.PRODUCT],
            labels=dict(LoanProduct.objects.values_list("code", "name")),
        ),
        by_employer=_breakdown(
            by_dimension[TallyDimension.EMPLOYER],
            labels=dict(
                Employer.objects.filter(
                    code__in={row["key"] for row in by_dimension[TallyDimension.EMPLOYER]}
                ).values_list("code", "name")
            ),
        ),
        by_municipality=_breakdown(by_dimension[TallyDimension.MUNICIPALITY], labels={}),
        by_month=_months(tallies, first_month=first_month, last_month=last_month),
    )


def _breakdown(rows: list[dict], *, labels: dict[str, str]) -> list[BreakdownRow]:
    keyed: dict[str, dict] = {}
    for row in rows:
        entry = keyed.setdefault(
            row["key"],
            {
                "received": 0,
                "paid": 0,
                "requested": Decimal("0.00"),
                "amount_paid": Decimal("0.00"),
            },
        )
        entry["received"] += row["total"]
        entry["requested"] += row["amount_sum"]
        if row["status"] == ApplicationStatus.DISBURSED:
            entry["paid"] += row["total"]
            entry["amount_paid"] += row["paid_sum"]
    result = [
        BreakdownRow(
            key=key,
            label=labels.get(key, key) or "—",
            received=entry["received"],
            paid=entry["paid"],
            amount_requested=entry["requested"],
            amount_paid=entry["amount_paid"],
        )
        for key, entry in keyed.items()
    ]
    return sorted(result, key=lambda row: (-row.received, row.label))


def _months(tallies, *, first_month: date, last_month: date) -> list[MonthRow]:
    rows = (
        tallies.filter(dimension=TallyDimension.TOTAL)
        .values("month", "status")
        .annotate(total=Sum("applications"), paid_sum=Sum("amount_paid"))
        .order_by()
    )
    months: dict[date, dict] = {}
    for row in rows:
        row["paid_sum"] = _cents(row["paid_sum"])
        entry = months.setdefault(row["month"], {"received": 0, "paid": 0, "amount": Decimal(0)})
        entry["received"] += row["total"]
        if row["status"] == ApplicationStatus.DISBURSED:
            entry["paid"] += row["total"]
            entry["amount"] += row["paid_sum"]
    # Every month of the period, the empty ones too: a trend with gaps would mislead.
    result = []
    for month in months_between(first_month, last_month):
        entry = months.get(month, {"received": 0, "paid": 0, "amount": Decimal("0.00")})
        result.append(
            MonthRow(
                month=month,
                received=entry["received"],
                paid=entry["paid"],
                amount_paid=entry["amount"],
            )
        )
    return result


def _cents(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def _median_from_histogram(counts: dict[int, int]) -> Decimal | None:
    """The median of values given as {value: how many}; the mean of the middle two when even."""
    total = sum(counts.values())
    if not total:
        return None
    wanted = [(total - 1) // 2, total // 2]
    found: list[int] = []
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        while wanted and wanted[0] < seen:
            found.append(value)
            wanted.pop(0)
    return (Decimal(found[0] + found[1]) / 2).quantize(Decimal("0.1"))
