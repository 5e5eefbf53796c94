"""Reads of the surveys app for the managers' dashboard: satisfaction, response rate, trend and
comments of a period of whole months. Every figure is a grouped count over indexed columns
(`Answer.code, month, number`; `Invitation.kind, month`), a fixed number of queries whatever
the number of answers."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet

from isseg_portal.institute_time import months_between
from surveys.models import Answer, Invitation, QuestionCode, SurveyKind

C = QuestionCode
SCORED = (C.SATISFACTION, C.EASE, C.SPEED, C.RECOMMEND, C.OFFICE, C.SIGNING_EASE, C.SIGNING_OFFICE)


@dataclass(frozen=True)
class Rate:
    invited: int
    answered: int

    @property
    def percent(self) -> Decimal | None:
        return _percent(self.answered, self.invited)


@dataclass(frozen=True)
class Scale:
    """The answers to one scored question: {value: how many}."""

    counts: dict[int, int]

    @property
    def responses(self) -> int:
        return sum(self.counts.values())

    @property
    def average(self) -> Decimal | None:
        if not self.responses:
            return None
        total = sum(value * count for value, count in self.counts.items())
        return (Decimal(total) / self.responses).quantize(Decimal("0.01"))

    def share(self, values: range | tuple[int, ...]) -> Decimal | None:
        return _percent(sum(self.counts.get(value, 0) for value in values), self.responses)


@dataclass(frozen=True)
class MonthSatisfaction:
    month: date
    scale: Scale


@dataclass(frozen=True)
class SatisfactionFigures:
    first_month: date
    last_month: date
    payment_rate: Rate
    signing_rate: Rate
    scales: dict[str, Scale]
    by_month: list[MonthSatisfaction]

    @property
    def satisfaction(self) -> Scale:
        return self.scales[C.SATISFACTION]

    @property
    def satisfied_share(self) -> Decimal | None:
        """Answered 4 or 5 of 5 to the overall question."""
        return self.satisfaction.share((4, 5))

    @property
    def nps(self) -> Decimal | None:
        """Net Promoter Score: % promoters (9–10) minus % detractors (0–6), −100 to 100."""
        counts = self.scales[C.RECOMMEND].counts
        promoters = sum(counts.get(value, 0) for value in (9, 10))
        detractors = sum(counts.get(value, 0) for value in range(0, 7))
        return _percent(promoters - detractors, sum(counts.values()))


def satisfaction_figures(*, first_month: date, last_month: date) -> SatisfactionFigures:
    answers = Answer.objects.filter(month__gte=first_month, month__lte=last_month)
    counts: dict[str, dict[int, int]] = {code: {} for code in SCORED}
    monthly: dict[date, dict[int, int]] = {}
    for row in (
        answers.filter(code__in=SCORED, number__isnull=False)
        .values("code", "month", "number")
        .annotate(total=Count("pk"))
        .order_by()
    ):
        scale = counts[row["code"]]
        scale[row["number"]] = scale.get(row["number"], 0) + row["total"]
        if row["code"] == C.SATISFACTION:
            month = monthly.setdefault(row["month"], {})
            month[row["number"]] = month.get(row["number"], 0) + row["total"]

    rates = {
        row["kind"]: Rate(invited=row["invited"], answered=row["answered"])
        for row in Invitation.objects.filter(month__gte=first_month, month__lte=last_month)
        .values("kind")
        .annotate(invited=Count("pk"), answered=Count("pk", filter=Q(answered_at__isnull=False)))
        .order_by()
    }
    return SatisfactionFigures(
        first_month=first_month,
        last_month=last_month,
        payment_rate=rates.get(SurveyKind.PAYMENT, Rate(invited=0, answered=0)),
        signing_rate=rates.get(SurveyKind.SIGNING, Rate(invited=0, answered=0)),
        scales={code: Scale(counts=values) for code, values in counts.items()},
        by_month=[
            MonthSatisfaction(month=month, scale=Scale(counts=monthly.get(month, {})))
            for month in months_between(first_month, last_month)
        ],
    )


def comments(*, first_month: date, last_month: date) -> QuerySet[Answer]:
    """The free comments of the period, newest first, with what is needed to name the person
    (shown only when they agreed to be contacted)."""
    return (
        Answer.objects.filter(
            code=C.COMMENT, month__gte=first_month, month__lte=last_month, number__isnull=True
        )
        .exclude(text="")
        # The page's 20 comments first, then who wrote them in one more query (their 20
        # invitations joined to application, affiliate and applicant): joining every comment of
        # the period to its application before choosing 20 was the slowest read of the
        # dashboard at scale, and a query per relation cost three round trips more.
        .select_related("response")
        .prefetch_related(
            Prefetch(
                "response__invitation",
                queryset=Invitation.objects.select_related(
                    "application__affiliate", "application__applicant"
                ),
            )
        )
        .order_by("-response__submitted_at", "-pk")
    )


def _percent(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1"))
