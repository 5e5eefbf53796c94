"""The dashboard's known dataset: eight applications over two months, two employers, two
municipalities, two products, and the answers to their surveys. Every figure of the dashboard's
tests is computed by hand from it (tests/dashboard/test_dashboard.py).

The applications are made by the services with their steps marked complete (the wizard is tested
elsewhere), then moved through the states by the staff personas; the `program` fixture of
tests/conftest.py builds it.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from dashboard import reporting
from isseg_portal.institute_time import month_of
from loans.amortization import quote
from loans.models import LoanApplication, RejectionReason
from loans.services import (
    QuoteTerms,
    TransferData,
    application_approve,
    application_cancel,
    application_create,
    application_register_payment,
    application_reject,
    application_sign,
    application_take_for_review,
)
from surveys.models import Answer, Invitation, Response, SurveyKind
from surveys.services import response_submit
from tests.builders import committed
from tests.factories import AffiliateLinkFactory, EmployerFactory
from tests.loans.factories import LoanProductFactory


def this_month() -> date:
    return month_of(timezone.now())


def previous_month() -> date:
    return month_of(
        datetime.combine(this_month(), time.min, tzinfo=timezone.get_current_timezone())
        - timedelta(days=1)
    )


class Program:
    """Eight applications over two months, two employers, two municipalities, two products."""

    def __init__(self, staff):
        self.analyst, self.authorizer, self.treasurer = staff
        self.pc = LoanProductFactory(code="PC", name="Préstamo personal")
        self.pe = LoanProductFactory(code="PE", name="Préstamo especial")
        self.education = EmployerFactory(code="SEG", name="Secretaría de Educación")
        self.health = EmployerFactory(code="ISAPEG", name="Instituto de Salud")

    def received(self, *, amount, rate, quincenas, employer, municipality, month, product=None):
        link = AffiliateLinkFactory(
            affiliate__employer=employer, affiliate__municipality=municipality
        )
        schedule = quote(amount=Decimal(amount), annual_rate=Decimal(rate), quincenas=quincenas)
        application = application_create(
            applicant=link.user,
            affiliate=link.affiliate,
            product=product or self.pc,
            terms=QuoteTerms(
                amount=Decimal(amount),
                quincenas=quincenas,
                annual_rate=Decimal(rate),
                interest_convention="nominal",
                fund_rate=Decimal("0"),
                payment=schedule.payment,
                cat=schedule.cat,
                previous_balance=Decimal("0.00"),
                net_to_receive=Decimal(amount),
            ),
            ip_address=None,
        )
        # Received on the 3rd of `month`, its steps complete (the wizard is tested elsewhere).
        received_at = datetime.combine(
            month.replace(day=3), time(10), tzinfo=timezone.get_current_timezone()
        )
        LoanApplication.objects.filter(pk=application.pk).update(
            created_at=received_at, completed_at=timezone.now()
        )
        application.refresh_from_db()
        application.user = link.user
        return application

    def signed(self, application):
        return application_sign(
            application=application,
            actor=application.user,
            document_sha256="0" * 64,
            ip_address=None,
        )

    def reviewed(self, application):
        self.signed(application)
        return application_take_for_review(
            application=application, actor=self.analyst, ip_address=None
        )

    def approved(self, application):
        self.reviewed(application)
        return application_approve(application=application, actor=self.authorizer, ip_address=None)

    def paid(self, application, *, days_after_signing: int):
        self.approved(application)
        application_register_payment(
            application=application,
            actor=self.treasurer,
            transfer=TransferData(
                spei_reference=f"SPEI{application.pk}",
                paid_on=timezone.localdate(),
                amount=application.net_to_receive,
                clabe=application.clabe,
            ),
            ip_address=None,
        )
        LoanApplication.objects.filter(pk=application.pk).update(
            signed_at=timezone.now() - timedelta(days=days_after_signing)
        )
        return application

    def rejected(self, application, reason):
        self.reviewed(application)
        return application_reject(
            application=application,
            actor=self.analyst,
            reason_code=reason,
            details="Explicación",
            ip_address=None,
        )


def program_built(analyst, authorizer, treasurer) -> Program:
    """The dataset, from the staff personas who act on it (clients with `.user`)."""
    # Each transition as committed: the invitations to the surveys follow the commit.
    with committed():
        p = _program(analyst, authorizer, treasurer)
    # The dates were moved after the transitions: recompute every month (as after a bulk load).
    reporting.tally_refresh_all()
    _answers(p, before=previous_month(), now=this_month())
    return p


def _program(analyst, authorizer, treasurer):
    p = Program((analyst.user, authorizer.user, treasurer.user))
    before, now = previous_month(), this_month()
    seg, isapeg = p.education, p.health
    p.a = p.paid(
        p.received(
            amount="60000.00",
            rate="0.1367",
            quincenas=59,
            employer=seg,
            municipality="Guanajuato",
            month=before,
        ),
        days_after_signing=4,
    )
    p.b = p.paid(
        p.received(
            amount="30000.00",
            rate="0.12",
            quincenas=24,
            employer=isapeg,
            municipality="León",
            month=now,
        ),
        days_after_signing=10,
    )
    p.c = p.rejected(
        p.received(
            amount="20000.00",
            rate="0.13",
            quincenas=48,
            employer=seg,
            municipality="León",
            month=now,
        ),
        RejectionReason.CAPACITY,
    )
    p.d = p.received(
        amount="10000.00",
        rate="0.13",
        quincenas=24,
        employer=isapeg,
        municipality="Guanajuato",
        month=now,
    )
    p.e = p.received(
        amount="15000.00",
        rate="0.13",
        quincenas=24,
        employer=seg,
        municipality="Guanajuato",
        month=before,
    )
    application_cancel(application=p.e, actor=p.e.user, ip_address=None)
    p.f = p.approved(
        p.received(
            amount="40000.00",
            rate="0.13",
            quincenas=48,
            employer=isapeg,
            municipality="León",
            month=now,
        )
    )
    p.g = p.rejected(
        p.received(
            amount="12000.00",
            rate="0.13",
            quincenas=24,
            employer=isapeg,
            municipality="Guanajuato",
            month=before,
        ),
        RejectionReason.DOCUMENTS,
    )
    p.h = p.signed(
        p.received(
            amount="25000.00",
            rate="0.14",
            quincenas=24,
            employer=seg,
            municipality="León",
            month=now,
            product=p.pe,
        )
    )
    return p


def _answers(p, *, before, now):
    """The transitions invited A and B after payment and the six signed ones after signing.
    A answered the payment survey (5 of 5, would recommend, consented to contact), B did
    (3 of 5, detractor, went to an office, anonymous comment), F answered the signing one.
    A's invitations and answers are moved to the previous month."""

    def answer(application, kind, values, *, consent=False):
        invitation = Invitation.objects.get(application=application, kind=kind)
        response_submit(invitation=invitation, data=values, contact_consent=consent)

    answer(
        p.a,
        SurveyKind.PAYMENT,
        {
            "satisfaccion": "5",
            "facilidad": "5",
            "tiempo": "4",
            "recomendacion": "10",
            "oficina": "0",
            "comentario": "Muy rápido, gracias",
        },
        consent=True,
    )
    answer(
        p.b,
        SurveyKind.PAYMENT,
        {
            "satisfaccion": "3",
            "facilidad": "4",
            "tiempo": "2",
            "recomendacion": "6",
            "oficina": "1",
            "comentario": '=HYPERLINK("http://example.com") tuve que ir a la oficina',
        },
    )
    answer(p.f, SurveyKind.SIGNING, {"firma_facilidad": "4", "firma_oficina": "0"})
    Invitation.objects.filter(application=p.a).update(month=before)
    Response.objects.filter(invitation__application=p.a).update(month=before)
    Answer.objects.filter(response__invitation__application=p.a).update(month=before)
