"""The managers' dashboard at /tablero/: every figure exact on a small known dataset, the period
filter, who may see it, exports equal to the tables on screen, and a number of queries that does
not grow with the data."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_q.models import Schedule
from openpyxl import load_workbook

from dashboard.reports import MONTH_NAMES
from dashboard.selectors import _median_from_histogram
from loans.amortization import quote
from loans.models import ApplicationStatus
from loans.services import application_cancel
from tests.dashboard.program import previous_month, this_month
from tests.dashboard.tables import DASHBOARD, screen_tables
from tests.factories import EmployerFactory

S = ApplicationStatus


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
