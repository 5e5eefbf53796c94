"""Tesorería's files: the payment batch and the payroll-deduction file (loans.exports), and
their pages in the admin (loans.admin_exports)."""

import csv
import io
import uuid
from datetime import date, datetime, time
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from loans import exports
from loans.paydays import payday_of, payment_dates
from loans.selectors import application_quote
from loans.services import application_complete, application_return
from loans.signing import CONTRACT_KIND, SEALED_CONTRACT_KIND
from signatures.models import SignedDocument
from tests.builders import approve, complete_draft_for, pay, sign, take_for_review
from tests.factories import EmployerFactory
from tests.logins import linked_applicant

BOM = b"\xef\xbb\xbf"


# The institute's database does not answer: the last known data are used (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("institute_down")


@pytest.fixture
def education(db):
    return EmployerFactory(code="SEG", name="Secretaría de Educación")


@pytest.fixture
def health(db):
    return EmployerFactory(code="ISAPEG", name="Instituto de Salud Pública")


@pytest.fixture
def team(analyst, authorizer, treasurer):
    """Who takes an application from signed to paid: the analyst reviews, the authorizer
    approves, the treasurer pays."""
    return {"analyst": analyst, "authorizer": authorizer, "treasurer": treasurer}


def borrower_of(employer) -> Client:
    """A linked applicant whose affiliate works for `employer`."""
    return linked_applicant(affiliate__employer=employer)


def signed_loan(client, product, *, on: date, monkeypatch, amount="60000.00", quincenas=48):
    """A complete draft of `client`'s, signed on the day `on` (noon in Mexico City). The
    product (tests/conftest.py) puts 1 % a year to the Fondo: installments 1, 25, 49, … carry
    a contribution."""
    application = complete_draft_for(client, product, amount=Decimal(amount), quincenas=quincenas)
    sign_on(application, on, monkeypatch=monkeypatch)
    return application


def sign_on(application, day: date, *, monkeypatch) -> None:
    """The applicant signs `application` at noon of `day` in Mexico City (the transition, the
    PDF is another module's): the signing event, which fixes the calendar, bears that time."""
    noon = timezone.make_aware(datetime.combine(day, time(12)), timezone.get_default_timezone())
    with monkeypatch.context() as patch:
        patch.setattr(timezone, "now", lambda: noon)
        sign(application)


def deductions(employer, quincena: date) -> list[list[str]]:
    return exports.deduction_rows(
        exports.deducted_by(employer=employer, quincena=quincena), quincena=quincena
    )


def seal(application, kind=SEALED_CONTRACT_KIND) -> SignedDocument:
    """A signed-document record of the contract (the file itself is not read here)."""
    return SignedDocument.objects.create(
        verification_token=uuid.uuid4(),
        reference=application.folio,
        kind=kind,
        file=f"firmados/{uuid.uuid4().hex}.pdf",
        size=1,
        sha256=uuid.uuid4().hex * 2,
        signer_name="ISSEG",
        signer_curp="",
        signer_rfc="",
        certificate_serial="1",
        certificate_issuer="AC",
        created_at=timezone.now(),
    )


def read_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


# --- Payroll-deduction file -------------------------------------------------------------------


# Signed on 10 January 2026 (quincena of the 15th): the first payment falls due two quincenas
# later, on 15 February 2026, and the 48th on 31 January 2028.
JANUARY = date(2026, 1, 10)
# Signed on 20 June 2026: first payment on 31 July 2026, the 24th on 15 July 2027.
JUNE = date(2026, 6, 20)


@pytest.fixture
def january_loan(product, education, team, monkeypatch):
    client = borrower_of(education)
    return pay(signed_loan(client, product, on=JANUARY, monkeypatch=monkeypatch), **team)


@pytest.fixture
def june_loan(product, education, team, monkeypatch):
    client = borrower_of(education)
    application = signed_loan(
        client, product, on=JUNE, monkeypatch=monkeypatch, amount="30000.00", quincenas=24
    )
    return pay(application, **team)


def test_every_quincena_deducts_the_contract_row_and_they_add_up_to_the_quote(
    january_loan, education
):
    # Given a paid loan of 60,000.00 over 48 quincenas with 1 % a year to the Fondo
    quote = application_quote(application=january_loan)
    paydays = payment_dates(signed_on=JANUARY, count=48)
    assert (paydays[0], paydays[-1]) == (date(2026, 2, 15), date(2028, 1, 31))

    # When Tesorería asks for the file of every quincena of its term
    files = {payday: deductions(education, payday) for payday in paydays}

    # Then each has the loan once, with that quincena's row of the amortization table
    for number, (payday, rows) in enumerate(files.items(), start=1):
        affiliate = january_loan.affiliate
        assert rows == [
            [
                affiliate.curp,
                affiliate.number,
                january_loan.folio,
                str(quote.schedule[number - 1].total),
                "2026-02-15",
                "2028-01-31",
                str(number),
                "48",
            ]
        ], payday
    amounts = [Decimal(rows[0][3]) for rows in files.values()]
    # The Fondo's yearly 600.00 rides with installments 1 and 25.
    assert amounts[0] == amounts[24] == quote.payment + Decimal("600.00")
    assert amounts[1] == quote.payment
    # The last one absorbs the rounding residue.
    assert amounts[-1] == quote.last_payment
    assert sum(amounts) == quote.total_paid


def test_the_last_quincena_deducts_the_last_payment(june_loan, education):
    quote = application_quote(application=june_loan)

    rows = deductions(education, date(2027, 7, 15))

    assert [row[2:] for row in rows] == [
        [june_loan.folio, str(quote.last_payment), "2026-07-31", "2027-07-15", "24", "24"]
    ]


def test_a_loan_not_started_yet_is_not_in_the_file(january_loan, june_loan, education):
    # The June loan was signed in the quincena of 30 June; 15 July is the one in between.
    for quincena in (date(2026, 6, 30), date(2026, 7, 15)):
        assert [row[2] for row in deductions(education, quincena)] == [january_loan.folio]
    assert [row[2] for row in deductions(education, date(2026, 7, 31))] == sorted(
        [january_loan.folio, june_loan.folio]
    )


def test_a_loan_already_finished_is_not_in_the_file(january_loan, june_loan, education):
    assert [row[2] for row in deductions(education, date(2027, 7, 31))] == [january_loan.folio]
    assert deductions(education, date(2028, 2, 15)) == []


def test_nothing_is_deducted_before_the_first_payment(january_loan, education):
    assert deductions(education, date(2026, 1, 31)) == []
    assert deductions(education, date(2026, 1, 15)) == []


def test_a_loan_signed_again_after_correction_runs_from_the_second_signature(
    product, education, team, monkeypatch
):
    # Given an application signed in January, returned for correction, signed again on
    # 20 March (its new contract: first payment on 30 April), then approved and paid
    client = borrower_of(education)
    application = signed_loan(client, product, on=JANUARY, monkeypatch=monkeypatch)
    take_for_review(application, team["analyst"])
    application_return(
        application=application, actor=team["analyst"].user, reason="Falta la INE.", ip_address=None
    )
    application_complete(application=application, privacy_accepted=True, terms_accepted=True)
    sign_on(application, date(2026, 3, 20), monkeypatch=monkeypatch)
    pay(application, **team)

    # Then the first signature's calendar deducts nothing; the second one's does
    assert deductions(education, date(2026, 2, 15)) == []
    assert deductions(education, date(2026, 3, 31)) == []
    [row] = deductions(education, date(2026, 4, 30))
    assert row[2:] == [
        application.folio,
        str(application_quote(application=application).schedule[0].total),
        "2026-04-30",
        "2028-04-15",
        "1",
        "48",
    ]


def test_the_file_takes_one_query(january_loan, june_loan, education, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = deductions(education, date(2026, 7, 31))

    assert len(rows) == 2


def test_loans_of_another_employer_are_not_in_the_file(
    january_loan, product, health, team, education, monkeypatch
):
    # Given a loan of a health worker signed the same day
    nurse = borrower_of(health)
    other = pay(signed_loan(nurse, product, on=JANUARY, monkeypatch=monkeypatch), **team)

    # Then each employer's file has its own affiliate's loan only
    assert [row[2] for row in deductions(education, date(2026, 3, 15))] == [january_loan.folio]
    assert [row[2] for row in deductions(health, date(2026, 3, 15))] == [other.folio]


def test_loans_not_paid_yet_are_not_deducted(product, education, team, monkeypatch):
    # Approved but waiting for the transfer: the money has not arrived.
    application = signed_loan(borrower_of(education), product, on=JANUARY, monkeypatch=monkeypatch)
    approve(application, analyst=team["analyst"], authorizer=team["authorizer"])

    assert deductions(education, date(2026, 3, 15)) == []


# --- Payment batch ----------------------------------------------------------------------------


def test_the_batch_lists_approved_loans_waiting_for_the_transfer(
    product, education, team, monkeypatch, django_assert_num_queries
):
    # Given a paid loan, an approved one whose contract is sealed, an approved one whose seal
    # is pending (its contract signed, not sealed) and one still in review
    clients = [borrower_of(education) for _ in range(4)]
    paid, sealed, pending, in_review = (
        signed_loan(client, product, on=JUNE, monkeypatch=monkeypatch) for client in clients
    )
    pay(paid, **team)
    approve(sealed, analyst=team["analyst"], authorizer=team["authorizer"])
    seal(sealed)
    approve(pending, analyst=team["analyst"], authorizer=team["authorizer"])
    seal(pending, kind=CONTRACT_KIND)
    take_for_review(in_review, team["analyst"])

    # When Tesorería asks for the batch
    with django_assert_num_queries(1):
        rows = exports.payment_batch_rows(exports.awaiting_payment())

    # Then only the approved ones waiting for their transfer are in it, by folio
    def row_of(application, seal_state):
        affiliate = application.affiliate
        return [
            application.folio,
            affiliate.curp,
            affiliate.number,
            affiliate.full_name,
            application.bank_name,
            application.clabe,
            format(application.net_to_receive, "f"),
            application.folio.replace("-", ""),
            seal_state,
            "no",
        ]

    assert rows == [row_of(sealed, "si"), row_of(pending, "pendiente")]
    assert rows[0][4] == "Banamex"
    assert rows[0][6] == "60000.00"


def test_the_suggested_reference_is_the_folio_without_dashes():
    assert exports.suggested_reference("PL-2026-000123") == "PL2026000123"
    assert exports.suggested_reference("AB-" * 30) == "AB" * 20


# --- The CSV file -----------------------------------------------------------------------------


def test_the_csv_is_utf8_with_bom_crlf_and_the_header_first():
    content = exports.write_csv(
        [["PL-2026-000001", "María José Peña", "1200.50"]], ("folio", "nombre", "monto")
    )

    assert content.startswith(BOM)
    assert (
        content == BOM + "folio,nombre,monto\r\nPL-2026-000001,María José Peña,1200.50\r\n".encode()
    )


def test_the_csv_quotes_commas_and_never_starts_a_cell_with_a_formula():
    content = exports.write_csv([["Pérez, Ana", "=HYPERLINK(1)"]], ("nombre", "banco"))

    assert read_csv(content) == [["nombre", "banco"], ["Pérez, Ana", "'=HYPERLINK(1)"]]


# --- The pages --------------------------------------------------------------------------------


def batch_url(**params) -> str:
    return _with(reverse("tesoreria:payment_batch"), params)


def deductions_url(**params) -> str:
    return _with(reverse("tesoreria:deductions"), params)


def _with(url: str, params: dict) -> str:
    return f"{url}?{urlencode(params)}" if params else url


def test_treasury_downloads_the_payment_batch(treasurer, product, education, team, monkeypatch):
    application = signed_loan(borrower_of(education), product, on=JUNE, monkeypatch=monkeypatch)
    approve(application, analyst=team["analyst"], authorizer=team["authorizer"])

    page = treasurer.get(batch_url())
    assert page.status_code == 200
    assert "Hay 1 préstamo aprobado esperando su transferencia, por $60,000.00." in (
        page.content.decode()
    )

    response = treasurer.get(batch_url(descargar="1"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    today = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="lote_pagos_{today}.csv"'
    rows = read_csv(response.content)
    assert rows[0] == list(exports.PAYMENT_BATCH_HEADER)
    assert [row[0] for row in rows[1:]] == [application.folio]
    assert rows[1][-2:] == ["pendiente", "no"]


def test_treasury_downloads_the_deduction_file(treasurer, january_loan, education):
    response = treasurer.get(deductions_url(employer="SEG", quincena="2026-02-15"))

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="descuentos_SEG_2026-02-15.csv"'
    )
    assert response.content.startswith(BOM + b"curp,numero_afiliado,folio,")
    rows = read_csv(response.content)
    assert rows[0] == list(exports.DEDUCTIONS_HEADER)
    assert [row[2] for row in rows[1:]] == [january_loan.folio]


def test_the_deduction_form_proposes_the_current_quincena(treasurer, education):
    response = treasurer.get(deductions_url())

    assert response.status_code == 200
    html = response.content.decode()
    assert '<option value="SEG">Secretaría de Educación (SEG)</option>' in html
    assert f'value="{payday_of(timezone.localdate()).isoformat()}"' in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"employer": "NOEXISTE", "quincena": "2026-11-30"},
            "No hay ninguna dependencia con la clave «NOEXISTE».",
        ),
        (
            {"employer": "SEG", "quincena": "2026-11-20"},
            "El 20/11/2026 no es día de pago: la quincena se paga el 15 o el último día del mes "
            "(30/11/2026 para esa fecha).",
        ),
        (
            {"employer": "SEG", "quincena": "2026-02-30"},
            "Escriba la fecha como AAAA-MM-DD (por ejemplo, 2026-11-30).",
        ),
        ({"quincena": "2026-11-30"}, "Elija la dependencia."),
    ],
)
def test_bad_parameters_give_the_form_back_with_the_reason(treasurer, education, params, message):
    response = treasurer.get(deductions_url(**params))

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")
    assert message in response.content.decode()


@pytest.mark.parametrize("persona", ["analyst", "authorizer", "manager"])
def test_other_staff_may_not_export(persona, request, education):
    client = request.getfixturevalue(persona)

    for url in (
        batch_url(),
        batch_url(descargar="1"),
        deductions_url(employer="SEG", quincena="2026-11-30"),
    ):
        assert client.get(url).status_code == 403


@pytest.mark.parametrize("persona", ["anonymous", "applicant"])
def test_whoever_is_not_staff_goes_to_the_admin_login(persona, request):
    client = request.getfixturevalue(persona)

    for url in (batch_url(descargar="1"), deductions_url()):
        response = client.get(url)
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


def test_the_admin_index_shows_the_treasury_box_only_to_treasury(treasurer, analyst):
    box = "Tesorería"
    link = reverse("tesoreria:deductions")

    treasury_index = treasurer.get(reverse("admin:index")).content.decode()
    analyst_index = analyst.get(reverse("admin:index")).content.decode()

    assert box in treasury_index
    assert link in treasury_index
    assert reverse("tesoreria:payment_batch") in treasury_index
    assert link not in analyst_index


def test_an_admin_with_every_permission_may_export(staff):
    assert staff.get(batch_url()).status_code == 200
