"""`seed_demo --full`: a program history at the real program's scale, for the dashboard.

The real program received 1,187 applications in its first 171 days; 456 were paid for about
MXN 27.4 million at 13.67 % a year over 59 quincenas on average, and 98.8 % of the few people
who answered the survey were satisfied. This writes a history of that shape: applications with
their events in the audit chain and their payments (`loans.history`), and the survey
invitations and answers that followed, without rendering a contract for each (the showcase
applications of `seed_demo` have real PDFs). Deterministic (a fixed random seed) and written
once: a second run finds the history and changes nothing.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from clabe import compute_control_digit
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from affiliates.models import Affiliate, AffiliateStatus
from dashboard import reporting
from isseg_portal.institute_time import month_of
from loans.history import HistoricalApplication, HistoryStep, applications_import
from loans.models import ApplicationStatus, LoanApplication, LoanProduct, RejectionReason
from surveys.models import Answer, Invitation, Question, Response, Survey, SurveyKind

S = ApplicationStatus
HISTORY_EMAIL = "historico.{number}@demo.test"
DAYS = 171
PAID_TOTAL = Decimal("27426243.75")

# Where the 1,187 applications stand. The recent ones are still moving; the older ones ended.
RECENT_FATES = {S.DRAFT: 60, S.SIGNED: 15, S.IN_REVIEW: 12, S.RETURNED: 4, S.APPROVED: 8}
SETTLED_FATES = {S.DISBURSED: 456, S.REJECTED: 170, S.CANCELLED: 112, S.EXPIRED: 350}
REJECTIONS = [
    (RejectionReason.CAPACITY, 40),
    (RejectionReason.DOCUMENTS, 30),
    (RejectionReason.NOT_ELIGIBLE, 15),
    (RejectionReason.IDENTITY, 5),
    (RejectionReason.OTHER, 10),
]
# Terms in quincenas and how often they are chosen: about 59 on average.
TERMS = [(24, 10), (36, 12), (48, 20), (60, 22), (72, 22), (96, 14)]
# The payment survey: 172 of the 456 answered; 170 said 4 or 5 of 5 (98.8 %).
SATISFACTION = [5] * 140 + [4] * 30 + [3, 2]
COMMENTS = [
    "Muy fácil, lo hice desde mi celular sin ir a ninguna oficina.",
    "El depósito llegó antes de lo que esperaba. Gracias.",
    "Me costó encontrar el archivo .key de mi firma, pero después todo fue rápido.",
    "Excelente servicio, ya no tuve que pedir permiso en el trabajo.",
    "Mi hija me ayudó con la firma electrónica; el resto fue sencillo.",
    "Sería bueno poder subir los documentos como foto desde el celular más fácil.",
    "Tardaron en revisar mi solicitud, pero me avisaron de cada paso por correo.",
    "Muy claro el simulador, supe cuánto me iban a descontar.",
    "Tuve que ir a renovar mi firma electrónica antes de poder firmar.",
    "Todo bien, gracias al Instituto.",
]


@dataclass(frozen=True)
class HistoryStaff:
    analyst: AbstractBaseUser
    authorizer: AbstractBaseUser
    treasurer: AbstractBaseUser


@dataclass(frozen=True)
class HistoryResult:
    created: bool
    applications: int
    paid: int
    responses: int


def history_exists() -> bool:
    return LoanApplication.objects.filter(applicant__email__startswith="historico.").exists()


def history_seed(*, staff: HistoryStaff, now: datetime | None = None) -> HistoryResult:
    if history_exists():
        return HistoryResult(created=False, applications=0, paid=0, responses=0)
    now = now or timezone.now()
    rng = random.Random(2026)
    product = LoanProduct.objects.get(code="PC")
    affiliates = list(
        Affiliate.objects.filter(status=AffiliateStatus.ACTIVE, is_blocked=False)
        .select_related("employer")
        .order_by("number")
    )
    if not affiliates:
        raise ValueError("No hay afiliados activos de demostración.")
    with transaction.atomic():
        users = _users(affiliates)
        records = _records(
            rng=rng, now=now, product=product, affiliates=affiliates, users=users, staff=staff
        )
        applications = applications_import(records=records)
        responses = _surveys(rng=rng, now=now, applications=applications)
    # The figures of the new months, now rather than on the first visit to the dashboard.
    reporting.tally_refresh_stale()
    return HistoryResult(
        created=True,
        applications=len(applications),
        paid=sum(application.status == S.DISBURSED for application in applications),
        responses=responses,
    )


def _users(affiliates: list[Affiliate]) -> dict[int, AbstractBaseUser]:
    """An account per affiliate of the history, that cannot log in (no usable password)."""
    User = get_user_model()
    unusable = make_password(None)
    emails = {
        affiliate.pk: HISTORY_EMAIL.format(number=affiliate.number) for affiliate in affiliates
    }
    existing = set(User.objects.filter(email__in=emails.values()).values_list("email", flat=True))
    User.objects.bulk_create(
        User(username=email, email=email, password=unusable)
        for email in emails.values()
        if email not in existing
    )
    by_email = {user.email: user for user in User.objects.filter(email__in=emails.values())}
    return {pk: by_email[email] for pk, email in emails.items()}


def _fates(rng: random.Random) -> tuple[list[str], list[str]]:
    settled = [fate for fate, count in SETTLED_FATES.items() for _ in range(count)]
    recent = [fate for fate, count in RECENT_FATES.items() for _ in range(count)]
    rng.shuffle(settled)
    rng.shuffle(recent)
    return settled, recent


def _amounts(rng: random.Random, fates: list[str]) -> list[Decimal]:
    """Between 10,000 and 110,000 in steps of 500; the paid ones scaled to add up to about
    the real program's total."""
    amounts = [Decimal(rng.randrange(20, 221) * 500) for _ in fates]
    paid = [i for i, fate in enumerate(fates) if fate == S.DISBURSED]
    factor = PAID_TOTAL / sum(amounts[i] for i in paid)
    for i in paid:
        amounts[i] = (amounts[i] * factor / 100).quantize(Decimal("1"), ROUND_HALF_UP) * 100
    return amounts


def _records(*, rng, now, product, affiliates, users, staff) -> list[HistoricalApplication]:
    settled, recent = _fates(rng)
    fates = settled + recent
    amounts = _amounts(rng, fates)
    start = now - timedelta(days=DAYS)
    records = []
    for index, fate in enumerate(fates):
        if index < len(settled):
            # Spread over the first 159 days; the last 12 are for the recent ones.
            day = (DAYS - 12) * index / len(settled)
        else:
            day = DAYS - 12 + 11.5 * (index - len(settled)) / len(recent)
        received = _office_hours(start + timedelta(days=day), rng)
        affiliate = affiliates[(index * 7) % len(affiliates)]
        quincenas = rng.choices([t for t, _ in TERMS], weights=[w for _, w in TERMS])[0]
        steps, extra = _steps(
            fate, received=received, now=now, rng=rng, staff=staff, applicant=users[affiliate.pk]
        )
        digits = f"{affiliate.number:0>11}"[-11:]
        first_17 = f"{('002', '012', '014', '072')[index % 4]}225{digits}"
        records.append(
            HistoricalApplication(
                applicant=users[affiliate.pk],
                affiliate=affiliate,
                product=product,
                amount=amounts[index],
                quincenas=quincenas,
                received_at=received,
                steps=tuple(steps),
                clabe=first_17 + compute_control_digit(first_17),
                bank_name=("BANAMEX", "BBVA MEXICO", "SANTANDER", "BANORTE")[index % 4],
                **extra,
            )
        )
    return records


def _office_hours(moment: datetime, rng: random.Random) -> datetime:
    local = timezone.localtime(moment)
    return local.replace(hour=rng.randrange(8, 21), minute=rng.randrange(60), second=0)


def _steps(fate: str, *, received, now, rng, staff, applicant):
    """The path to `fate` with plausible delays, never later than `now`."""
    moment = received
    steps: list[HistoryStep] = []
    extra: dict = {}

    def step(to_status, hours, actor, reason=""):
        nonlocal moment
        # Recent applications: the steps squeeze before `now`, in order, minutes apart.
        latest = now - timedelta(minutes=5 * (9 - len(steps)))
        moment = max(min(moment + timedelta(hours=hours), latest), moment + timedelta(minutes=1))
        steps.append(HistoryStep(to_status=to_status, at=moment, actor=actor, reason=reason))

    def signed():
        step(S.SIGNED, rng.uniform(0.5, 72), applicant, "Contrato firmado con e.firma (histórico).")

    def reviewed():
        step(S.IN_REVIEW, rng.uniform(1, 48), staff.analyst)

    if fate == S.DRAFT:
        return steps, extra
    if fate == S.EXPIRED:
        step(S.EXPIRED, 15 * 24, None, "Venció el plazo para completar y firmar la solicitud.")
        return steps, extra
    if fate == S.CANCELLED and rng.random() < 0.5:
        step(S.CANCELLED, rng.uniform(1, 96), applicant)
        return steps, extra
    signed()
    if fate in (S.SIGNED,):
        return steps, extra
    if fate == S.CANCELLED:
        step(S.CANCELLED, rng.uniform(1, 24), applicant)
        return steps, extra
    reviewed()
    if fate == S.RETURNED or (fate == S.DISBURSED and rng.random() < 0.07):
        step(
            S.RETURNED, rng.uniform(1, 24), staff.analyst, "Falta la página 2 del estado de cuenta."
        )
        if fate == S.RETURNED:
            return steps, extra
        signed()
        reviewed()
    if fate == S.IN_REVIEW:
        return steps, extra
    if fate == S.REJECTED:
        reason = rng.choices([r for r, _ in REJECTIONS], weights=[w for _, w in REJECTIONS])[0]
        step(S.REJECTED, rng.uniform(2, 72), staff.analyst, f"{reason.label}: revisión histórica.")
        extra["rejection_reason"] = reason
        return steps, extra
    step(S.APPROVED, rng.uniform(4, 72), staff.authorizer)
    if fate == S.APPROVED:
        return steps, extra
    step(S.DISBURSED, rng.uniform(12, 96), staff.treasurer, "Pago SPEI (histórico).")
    extra["paid_on"] = timezone.localdate(moment)
    extra["spei_reference"] = f"ISSEGH{moment:%Y%m%d}{len(steps):02d}{rng.randrange(10**6):06d}"
    return steps, extra


def _surveys(*, rng, now, applications: list[LoanApplication]) -> int:
    """Invitations after payment and after signing, and the answers the history had."""
    payment_survey = Survey.objects.get(kind=SurveyKind.PAYMENT, is_active=True)
    signing_survey = Survey.objects.get(kind=SurveyKind.SIGNING, is_active=True)
    paid = [application for application in applications if application.status == S.DISBURSED]
    signed = [application for application in applications if application.signed_at is not None]
    questions = {
        (question.survey_id, question.code): question
        for question in Question.objects.filter(survey__in=[payment_survey, signing_survey])
    }
    satisfaction = list(SATISFACTION)
    rng.shuffle(satisfaction)
    answering = set(rng.sample(range(len(paid)), len(satisfaction)))
    responses = 0
    scores = iter(satisfaction)
    for index, application in enumerate(paid):
        moment = application.status_changed_at + timedelta(hours=1)
        answered_at = None
        if index in answering:
            answered_at = min(moment + timedelta(hours=rng.uniform(0.2, 96)), now)
        invitation = _invitation(application, payment_survey, moment, answered_at, now)
        if answered_at is not None:
            score = next(scores)
            _response(rng, questions, invitation, answered_at, _payment_answers(rng, score))
            responses += 1
    for application in signed:
        moment = application.signed_at + timedelta(minutes=2)
        answered_at = None
        if rng.random() < 0.35:
            answered_at = min(moment + timedelta(minutes=rng.uniform(1, 600)), now)
        invitation = _invitation(application, signing_survey, moment, answered_at, now)
        if answered_at is not None:
            values = {
                "firma_facilidad": rng.choices([5, 4, 3, 2], weights=[60, 30, 7, 3])[0],
                "firma_oficina": int(rng.random() < 0.06),
            }
            _response(rng, questions, invitation, answered_at, values)
            responses += 1
    return responses


def _invitation(application, survey, moment, answered_at, now) -> Invitation:
    reminded = None
    if answered_at is None and moment + timedelta(days=5) < now:
        reminded = moment + timedelta(days=5)
    return Invitation.objects.create(
        application=application,
        survey=survey,
        kind=survey.kind,
        created_at=moment,
        month=month_of(moment),
        expires_at=moment + timedelta(days=30),
        emailed_at=moment,
        reminded_at=reminded,
        answered_at=answered_at,
    )


def _payment_answers(rng: random.Random, score: int) -> dict:
    happy = score >= 4
    values = {
        "satisfaccion": score,
        "facilidad": rng.choices([5, 4, 3], weights=[70, 25, 5])[0] if happy else 3,
        "tiempo": rng.choices([5, 4, 3], weights=[55, 35, 10])[0] if happy else 2,
        "recomendacion": rng.choices([10, 9, 8, 7], weights=[55, 25, 15, 5])[0] if happy else 5,
        "oficina": int(rng.random() < (0.04 if happy else 0.5)),
    }
    if rng.random() < 0.3:
        values["comentario"] = rng.choice(COMMENTS)
    return values


def _response(rng, questions, invitation: Invitation, answered_at: datetime, values: dict):
    comment = "comentario" in values
    response = Response.objects.create(
        invitation=invitation,
        survey=invitation.survey,
        submitted_at=answered_at,
        month=month_of(answered_at),
        contact_consent=comment and rng.random() < 0.4,
    )
    Answer.objects.bulk_create(
        Answer(
            response=response,
            question=questions[(invitation.survey_id, code)],
            code=code,
            month=response.month,
            number=None if isinstance(value, str) else value,
            text=value if isinstance(value, str) else "",
        )
        for code, value in values.items()
    )
