"""The managers' dashboard at /tablero/: every figure exact on a small known dataset, the period
filter, who may see it, exports equal to the tables on screen, and a number of queries that does
not grow with the data."""

import csv
import io
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule
from openpyxl import load_workbook

from dashboard import reporting
from dashboard.reports import MONTH_NAMES
from dashboard.selectors import _median_from_histogram
from isseg_portal.institute_time import month_of
from loans.amortization import quote
from loans.models import ApplicationStatus, LoanApplication, RejectionReason
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
from tests.factories import AffiliateLinkFactory, EmployerFactory
from tests.loans.factories import LoanProductFactory
from tests.surveys.journeys import committed

S = ApplicationStatus
DASHBOARD = reverse("dashboard:dashboard")


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


@pytest.fixture
def program(analyst, authorizer, treasurer):
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


class Cells(HTMLParser):
    """The text of each row of each report table on the page, by the table's id."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._report = None
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and "report" in (attrs.get("class") or "").split():
            self._report = attrs["id"]
            self.tables[self._report] = []
        elif tag == "tr" and self._report:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif (
            tag == "span"
            and self._cell is not None
            and "visually-hidden" in (attrs.get("class") or "")
        ):
            self._cell = None

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._report].append(self._row)
            self._row = None
        elif tag == "table":
            self._report = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def screen_tables(response) -> dict[str, list[list[str]]]:
    parser = Cells()
    parser.feed(response.content.decode())
    return parser.tables


def screen_row(tables, slug: str, first_cell: str) -> list[str]:
    return next(row for row in tables[slug] if row[0] == first_cell)


def test_each_figure_is_exact_on_a_known_dataset(program, manager):
    response = manager.get(DASHBOARD)

    assert response.status_code == 200
    tables = screen_tables(response)
    summary = dict(tables["resumen"][1:])
    interest = (
        quote(amount=Decimal("60000"), annual_rate=Decimal("0.1367"), quincenas=59).total_interest
        + quote(amount=Decimal("30000"), annual_rate=Decimal("0.12"), quincenas=24).total_interest
    )
    assert summary == {
        "Solicitudes recibidas": "8",
        "Préstamos pagados": "2",
        "Monto solicitado": "$212,000.00",
        "Monto aprobado (aprobadas y pagadas)": "$130,000.00",
        "Monto pagado": "$90,000.00",
        "Interés proyectado de los préstamos pagados": f"${interest:,.2f}",
        # (13.67 % × 60,000 + 12 % × 30,000) / 90,000; (59 × 60,000 + 24 × 30,000) / 90,000.
        "Tasa anual promedio ponderada por monto (pagados)": "13.11 %",
        "Plazo promedio ponderado por monto (quincenas, pagados)": "47.3",
        # 4 and 10 days.
        "Mediana de días de la firma al pago": "7.0",
    }
    assert tables["estados"][1:] == [
        ["Borrador", "1", "12.5 %", "$10,000.00"],
        ["Firmada", "1", "12.5 %", "$25,000.00"],
        ["En revisión", "0", "0.0 %", "$0.00"],
        ["Devuelta para corrección", "0", "0.0 %", "$0.00"],
        ["Aprobada", "1", "12.5 %", "$40,000.00"],
        ["Pagada", "2", "25.0 %", "$90,000.00"],
        ["Rechazada", "2", "25.0 %", "$32,000.00"],
        ["Cancelada", "1", "12.5 %", "$15,000.00"],
        ["Vencida", "0", "0.0 %", "$0.00"],
    ]
    assert tables["rechazos"][1:] == [
        ["Capacidad de pago insuficiente", "1", "50.0 %"],
        ["Documentos ilegibles, incompletos o que no corresponden", "1", "50.0 %"],
    ]
    assert tables["productos"][1:] == [
        ["Préstamo personal", "7", "2", "$187,000.00", "$90,000.00"],
        ["Préstamo especial", "1", "0", "$25,000.00", "$0.00"],
    ]
    assert tables["dependencias"][1:] == [
        ["Instituto de Salud", "4", "1", "$92,000.00", "$30,000.00"],
        ["Secretaría de Educación", "4", "1", "$120,000.00", "$60,000.00"],
    ]
    assert tables["municipios"][1:] == [
        ["Guanajuato", "4", "1", "$97,000.00", "$60,000.00"],
        ["León", "4", "1", "$115,000.00", "$30,000.00"],
    ]
    before, now = previous_month(), this_month()
    assert tables["meses"][1:] == [
        [f"{MONTH_NAMES[before.month - 1]} {before.year}", "3", "1", "$60,000.00"],
        [f"{MONTH_NAMES[now.month - 1]} {now.year}", "5", "1", "$30,000.00"],
    ]
    satisfaction = dict(tables["satisfaccion"][1:])
    assert satisfaction == {
        "Satisfechos (4 o 5 de 5)": "50.0 %",
        "Satisfacción promedio (1 a 5)": "4.00",
        # One promoter (10) and one detractor (6) of two.
        "NPS (−100 a 100)": "0.0",
        "Invitaciones después del pago": "2",
        "Respuestas después del pago": "2",
        "Tasa de respuesta después del pago": "100.0 %",
        "Facilidad del trámite en línea (1 a 5)": "4.50",
        "Tiempo hasta recibir el dinero (1 a 5)": "3.00",
        "Tuvieron que acudir a una oficina": "50.0 %",
        # A, B, C, F, G and H were signed; F answered.
        "Invitaciones al firmar": "6",
        "Tasa de respuesta al firmar": "16.7 %",
        "Facilidad al firmar (1 a 5)": "4.00",
        "Acudieron a una oficina antes de firmar": "0.0 %",
    }
    assert tables["calificaciones"][1:] == [
        ["5 · Muy satisfecho", "1", "50.0 %"],
        ["4 · Satisfecho", "0", "0.0 %"],
        ["3 · Ni satisfecho ni insatisfecho", "1", "50.0 %"],
        ["2 · Insatisfecho", "0", "0.0 %"],
        ["1 · Muy insatisfecho", "0", "0.0 %"],
    ]
    assert tables["satisfaccion-mensual"][1:] == [
        [f"{MONTH_NAMES[before.month - 1]} {before.year}", "1", "100.0 %", "5.00"],
        [f"{MONTH_NAMES[now.month - 1]} {now.year}", "1", "0.0 %", "3.00"],
    ]


def test_comments_name_the_person_only_when_they_agreed_to_be_contacted(program, manager):
    tables = screen_tables(manager.get(DASHBOARD))

    comments = {row[1]: row[2] for row in tables["comentarios"][1:]}
    consenting = program.a.affiliate.full_name
    assert consenting in comments["Muy rápido, gracias"]
    assert program.a.folio in comments["Muy rápido, gracias"]
    anonymous = comments['=HYPERLINK("http://example.com") tuve que ir a la oficina']
    assert anonymous == "Anónimo (no autorizó que lo contacten)"
    assert program.b.affiliate.full_name not in manager.get(DASHBOARD).content.decode()


def test_a_month_counts_only_the_applications_received_in_it(program, manager):
    before = previous_month()

    response = manager.get(DASHBOARD, {"desde": f"{before:%Y-%m}", "hasta": f"{before:%Y-%m}"})

    tables = screen_tables(response)
    summary = dict(tables["resumen"][1:])
    assert summary["Solicitudes recibidas"] == "3"
    assert summary["Monto pagado"] == "$60,000.00"
    assert summary["Mediana de días de la firma al pago"] == "4.0"
    assert tables["rechazos"][1:] == [
        ["Documentos ilegibles, incompletos o que no corresponden", "1", "100.0 %"]
    ]
    assert dict(tables["satisfaccion"][1:])["Satisfechos (4 o 5 de 5)"] == "100.0 %"


def test_a_change_after_a_visit_shows_on_the_next_one(program, manager):
    manager.get(DASHBOARD)

    application_cancel(application=program.d, actor=program.d.user, ip_address=None)

    tables = screen_tables(manager.get(DASHBOARD))
    statuses = {row[0]: row[1] for row in tables["estados"][1:]}
    assert statuses["Borrador"] == "0"
    assert statuses["Cancelada"] == "2"


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("applicant", 403),
        ("analyst", 403),
        ("authorizer", 403),
        ("treasurer", 403),
        ("manager", 200),
        ("staff", 200),
    ],
)
@pytest.mark.parametrize(
    "url", [DASHBOARD, reverse("dashboard:dashboard_export", args=["resumen", "csv"])]
)
def test_only_managers_and_superusers_see_the_dashboard_and_its_exports(
    persona, status, url, request
):
    client = request.getfixturevalue(persona)

    response = client.get(url)

    assert response.status_code == status
    if status == 403:
        assert b"Monto pagado" not in response.content


def test_the_anonymous_visitor_is_sent_to_log_in(anonymous):
    response = anonymous.get(DASHBOARD)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def _normal(text) -> str:
    """A page's "$60,000.00", "50.0 %", "noviembre 2026", "—" as the files write them."""
    text = str(text).strip()
    if text == "—":
        return ""
    for number, name in enumerate(MONTH_NAMES, start=1):
        match = re.fullmatch(rf"{name} (\d{{4}})", text)
        if match:
            return f"{match.group(1)}-{number:02d}"
    if re.fullmatch(r"\$?-?[\d,]+(\.\d+)?( %)?", text):
        return text.replace("$", "").replace(",", "").replace(" %", "")
    return text


def test_every_export_holds_exactly_the_table_on_screen(program, manager):
    screen = screen_tables(manager.get(DASHBOARD))
    slugs = [slug for slug in screen if slug != "comentarios"]
    assert len(slugs) == 10

    for slug in slugs:
        url = reverse("dashboard:dashboard_export", args=[slug, "csv"])
        exported = manager.get(url)
        assert exported.status_code == 200
        assert exported["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert [[_normal(cell) for cell in row] for row in screen[slug]] == rows, slug

        workbook = load_workbook(
            io.BytesIO(
                manager.get(reverse("dashboard:dashboard_export", args=[slug, "xlsx"])).content
            )
        )
        sheet = workbook.active
        values = [list(row) for row in sheet.iter_rows(min_row=3, values_only=True)]
        assert values[0] == rows[0]
        for sheet_row, csv_row in zip(values[1:], rows[1:], strict=True):
            for cell, text in zip(sheet_row, csv_row, strict=True):
                if isinstance(cell, (int, float)):
                    assert Decimal(str(cell)) == Decimal(text), slug
                else:
                    assert (cell or "") == text, slug


def test_the_comments_export_holds_every_comment_and_defuses_formulas(program, manager):
    exported = manager.get(reverse("dashboard:dashboard_export", args=["comentarios", "csv"]))

    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    texts = sorted(row[1] for row in rows[1:])
    assert texts == [
        '\'=HYPERLINK("http://example.com") tuve que ir a la oficina',
        "Muy rápido, gracias",
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"desde": "2026-13"}, "Escribe el mes como año y mes"),
        ({"desde": "noviembre"}, "Escribe el mes como año y mes"),
        ({"desde": "2026-11", "hasta": "2026-01"}, "El mes inicial debe ser anterior"),
        ({"desde": "2000-01", "hasta": "2026-01"}, "Elige un periodo de hasta 120 meses"),
    ],
)
def test_a_bad_period_is_refused_in_spanish_keeping_what_was_typed(manager, query, message):
    response = manager.get(DASHBOARD, query)

    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert f'value="{query["desde"]}"' in page

    exported = manager.get(reverse("dashboard:dashboard_export", args=["resumen", "csv"]), query)
    assert exported.status_code == 400
    assert message in exported.content.decode()


@pytest.mark.parametrize("path", [("inventada", "csv"), ("resumen", "pdf")])
def test_an_unknown_table_or_format_is_not_found(manager, path):
    assert manager.get(reverse("dashboard:dashboard_export", args=path)).status_code == 404


def test_the_number_of_queries_does_not_grow_with_the_data(program, manager):
    manager.get(DASHBOARD)
    with CaptureQueriesContext(connection) as few:
        manager.get(DASHBOARD)

    # Ten more applications, each with its own employer and municipality, and their answers.
    for number in range(10):
        application = program.received(
            amount="5000.00",
            rate="0.13",
            quincenas=24,
            employer=EmployerFactory(),
            municipality=f"Municipio {number}",
            month=this_month(),
        )
        program.paid(application, days_after_signing=number)
    manager.get(DASHBOARD)
    with CaptureQueriesContext(connection) as many:
        response = manager.get(DASHBOARD)

    assert dict(screen_tables(response)["resumen"][1:])["Solicitudes recibidas"] == "18"
    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.parametrize(
    ("counts", "median"),
    [
        ({4: 1}, Decimal("4.0")),
        ({4: 1, 10: 1}, Decimal("7.0")),
        ({1: 2, 3: 1}, Decimal("1.0")),
        ({1: 1, 2: 1, 9: 2}, Decimal("5.5")),
        ({}, None),
    ],
)
def test_the_median_comes_from_the_histogram_of_days(counts, median):
    assert _median_from_histogram(counts) == median


def test_the_dashboard_link_shows_only_to_managers(program, manager, analyst):
    assert 'href="/tablero/"' in manager.get(reverse("home")).content.decode()
    assert 'href="/tablero/"' not in analyst.get(reverse("home")).content.decode()


def test_the_empty_program_shows_zeros_not_errors(manager):
    response = manager.get(DASHBOARD)

    assert response.status_code == 200
    summary = dict(screen_tables(response)["resumen"][1:])
    assert summary["Solicitudes recibidas"] == "0"
    assert summary["Mediana de días de la firma al pago"] == "—"


def test_the_months_touched_are_recomputed_by_a_schedule_too(db):
    schedule = Schedule.objects.get(name="dashboard.tally_refresh_stale")

    assert schedule.func == "dashboard.tasks.tally_refresh_stale"
    assert (schedule.schedule_type, schedule.minutes) == (Schedule.MINUTES, 10)
