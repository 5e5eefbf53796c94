"""The program's figures, kept as monthly tallies (`ProgramTally`) of received applications.

Counting a million applications on every visit to the dashboard would be slow, so the figures
are summed a month at a time: every event of an application marks its month stale in the
event's own transaction (`tally_mark_stale`, a receiver of `loans.services.transition_recorded`),
and `tally_refresh_stale` recomputes the stale months before they are read (the dashboard does
it first; a schedule does it every few minutes too). A month is recomputed whole, from the
applications themselves, so a refresh run twice, or after a crash, gives the same rows.

Lock order: a transition holds the application and the audit head, then the month; a refresh
holds only the month. A transition that commits while a month is being recomputed waits for
that refresh, then marks the month stale again.
"""

from collections import Counter
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from dashboard.models import ProgramTally, TallyDimension, TallyMonth
from isseg_portal.institute_time import month_bounds, month_next, month_of
from loans.models import ApplicationEvent, LoanApplication
from loans.workflow import ApplicationStatus

D = TallyDimension
ZERO = Decimal("0")


def tally_mark_stale(
    sender, *, application: LoanApplication, event: ApplicationEvent, **kwargs
) -> None:
    """Mark the month the application was received in, inside the transaction of its event."""
    month = month_of(application.created_at)
    if not TallyMonth.objects.filter(month=month).update(stale=True):
        TallyMonth.objects.create(month=month, stale=True)


def tally_refresh_stale() -> int:
    """Recompute every stale month; returns how many were recomputed."""
    months = list(TallyMonth.objects.filter(stale=True).values_list("month", flat=True))
    for month in months:
        tally_refresh(month=month)
    return len(months)


def tally_refresh_all() -> int:
    """Mark every month that has applications stale and recompute them (after a bulk load)."""
    with transaction.atomic():
        first = LoanApplication.objects.order_by("created_at").values_list("created_at", flat=True)
        start = first.first()
        if start is None:
            return 0
        month, last = month_of(start), month_of(timezone.now())
        while month <= last:
            TallyMonth.objects.update_or_create(month=month, defaults={"stale": True})
            month = month_next(month)
    return tally_refresh_stale()


def tally_refresh(*, month: date) -> None:
    with transaction.atomic():
        tally_month, _created = TallyMonth.objects.get_or_create(month=month)
        tally_month = TallyMonth.objects.select_for_update().get(pk=tally_month.pk)
        ProgramTally.objects.filter(month=month).delete()
        start, end = month_bounds(month)
        received = LoanApplication.objects.filter(created_at__gte=start, created_at__lt=end)
        rows = []
        for dimension, key, only in (
            (D.TOTAL, Value(""), None),
            (D.PRODUCT, F("product__code"), None),
            (D.EMPLOYER, Coalesce(F("employer__code"), Value("")), None),
            (D.MUNICIPALITY, F("municipality"), None),
            (D.REJECTION, F("rejection_reason"), ApplicationStatus.REJECTED),
        ):
            applications = received.filter(status=only) if only else received
            for row in _sums(applications.annotate(tally_key=key), "tally_key"):
                rows.append(ProgramTally(month=month, dimension=dimension, **row))
        rows.extend(_days_to_payment(month=month, received=received))
        ProgramTally.objects.bulk_create(rows)
        tally_month.stale = False
        tally_month.refreshed_at = timezone.now()
        tally_month.save(update_fields=["stale", "refreshed_at"])


def _sums(applications, key_field: str):
    # Wide enough for a million applications (SQLite's converter enforces max_digits).
    money = DecimalField(max_digits=20, decimal_places=2)
    weight = DecimalField(max_digits=24, decimal_places=6)
    # Aliases unlike the fields: an annotation named "amount" would shadow F("amount").
    grouped = applications.values(key_field, "status").annotate(
        n=Count("pk"),
        requested=Sum("amount", output_field=money),
        # The transfer's amount is the net to receive (application_register_payment refuses
        # any other), so no join with the payments: it doubled the cost of a month.
        paid=Coalesce(
            Sum(
                "net_to_receive",
                filter=Q(status=ApplicationStatus.DISBURSED),
                output_field=money,
            ),
            Value(ZERO),
        ),
        projected=Sum(
            "total_interest", filter=Q(status=ApplicationStatus.DISBURSED), output_field=money
        ),
        rate_sum=Sum(ExpressionWrapper(F("annual_rate") * F("amount"), output_field=weight)),
        term_sum=Sum(ExpressionWrapper(F("quincenas") * F("amount"), output_field=weight)),
    )
    for row in grouped.order_by():
        yield {
            "key": row[key_field] or "",
            "status": row["status"],
            "applications": row["n"],
            "amount": row["requested"] or ZERO,
            "amount_paid": _cents(row["paid"]),
            "interest": _cents(row["projected"]),
            "rate_weight": Decimal(row["rate_sum"] or 0).quantize(Decimal("0.000001")),
            "term_weight": _cents(row["term_sum"]),
        }


def _days_to_payment(*, month: date, received) -> list[ProgramTally]:
    """Paid applications by whole days from the (last) signature to the transfer's date: a
    histogram, from which the dashboard takes the median of any period without the rows."""
    paid = received.filter(status=ApplicationStatus.DISBURSED, signed_at__isnull=False).values_list(
        "signed_at", "transfer__paid_on", "amount"
    )
    days: Counter[int] = Counter()
    amounts: dict[int, Decimal] = {}
    for signed_at, paid_on, amount in paid.iterator(chunk_size=5000):
        if paid_on is None:
            continue
        elapsed = max((paid_on - timezone.localdate(signed_at)).days, 0)
        days[elapsed] += 1
        amounts[elapsed] = amounts.get(elapsed, ZERO) + amount
    return [
        ProgramTally(
            month=month,
            dimension=D.DAYS_TO_PAYMENT,
            key=str(elapsed),
            status=ApplicationStatus.DISBURSED,
            applications=count,
            amount=amounts[elapsed],
            amount_paid=ZERO,
            interest=ZERO,
            rate_weight=ZERO,
            term_weight=ZERO,
        )
        for elapsed, count in sorted(days.items())
    ]


def _cents(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))
