"""The contract PDF: what it says, how it is built, and who may see the draft."""

import io
import logging
import socket
import uuid
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader
from weasyprint.pdf import fonts as weasyprint_fonts

from isseg_portal.formatting import pesos
from loans.contract import contract_pdf, verification_url
from loans.services import application_cancel
from signatures.rendering import (
    PdfRenderingError,
    ResourceRefused,
    StaticFilesFetcher,
    harfbuzz_subsets_fonts,
    html_to_pdf,
)
from tests.builders import draft_for, filled_draft_for
from tests.factories import AffiliateLoanFactory
from tests.loans.addresses import detail_url
from tests.loans.factories import LoanProductFactory
from tests.pages import messages_of, text

# Signed on 10 March 2026: the 48 payments run from 15 April 2026 to 31 March 2028.
SIGNED_ON = date(2026, 3, 10)


# The institute's database does not answer: the last known data are used (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("institute_down")


def pages_of(pdf: bytes) -> list[str]:
    """The text of each page, spaces collapsed (justified lines extract with double spaces)."""
    reader = PdfReader(io.BytesIO(pdf))
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def preview_url(application) -> str:
    return reverse("loans:contract_preview", kwargs={"public_id": application.public_id})


# --- What the contract says -------------------------------------------------------------------


def test_the_draft_states_the_loan_the_parties_and_the_pagare(complete_draft, settings):
    # Given a complete draft of $60,000.00 over 48 quincenas
    application = complete_draft
    affiliate = application.affiliate

    # When its contract is rendered as a draft
    pages = pages_of(contract_pdf(application, draft=True, signed_on=SIGNED_ON))
    document = " ".join(pages)

    # Then it is a contract of the institute with this applicant, for this folio
    assert "Contrato de mutuo con interés y pagaré" in document
    assert f"Folio: {application.folio}" in pages[0]
    assert settings.INSTITUTE_NAME in document
    for value in (affiliate.full_name, affiliate.curp, affiliate.rfc, affiliate.number):
        assert value in document
    assert affiliate.employer.name in document
    # with the amount in figures and in words, the rate, the CAT with its legend and the term
    assert "$60,000.00 (SESENTA MIL PESOS 00/100 M.N.)" in document
    assert "tasa fija anual de 13.67 %" in document
    assert f"Costo Anual Total (CAT) del préstamo es de {application.cat} %" in document
    assert "CAT sin IVA. Para fines informativos y de comparación." in document
    assert f"48 pagos quincenales sucesivos de {pesos(application.payment)}" in document
    # the fund contribution (1 % a year: two years), the deposit account and the deduction
    assert "$600.00 con el primer pago de cada año del plazo, $1,200.00 en total" in document
    assert f"CLABE {application.clabe} de Banamex" in document
    assert "descuenten de su nómina" in document
    # the clauses on early repayment, late interest, personal data and jurisdiction
    assert "sin penalización ni comisión alguna" in document
    assert "intereses moratorios a la tasa anual de 13.67 %" in document
    assert f"{settings.PORTAL_BASE_URL}{reverse('privacy_notice_full')}" in document
    assert "tribunales competentes de Guanajuato, Gto., capital del Estado" in document
    # and the amortization table with a due date for every installment
    assert "15/04/2026" in document
    assert "29/02/2028" in document
    assert "31/03/2028" in document


def test_the_pagare_is_an_unconditional_promise_to_pay_the_institute(complete_draft, settings):
    pages = pages_of(contract_pdf(complete_draft, draft=False, signed_on=SIGNED_ON))

    # The pagaré starts a page of its own, after the table.
    start = next(index for index, page in enumerate(pages) if page.startswith("PAGARÉ"))
    note = " ".join(pages[start:])
    assert start > 0
    assert f"Folio: {complete_draft.folio} Bueno por $60,000.00" in note
    assert "Lugar y fecha de suscripción: Guanajuato, Gto., 10 de marzo de 2026." in note
    assert (
        f"Por este PAGARÉ, yo, {complete_draft.affiliate.full_name}, me obligo "
        f"incondicionalmente a pagar a la orden del {settings.INSTITUTE_NAME}"
    ) in note
    assert "la cantidad de $60,000.00 (SESENTA MIL PESOS 00/100 M.N.)" in note
    assert "el primero el 15 de abril de 2026 y el último el 31 de marzo de 2028" in note
    # Its calendar lists every installment with its due date.
    assert "1 15/04/2026" in note
    assert "48 31/03/2028" in note


def test_a_renewal_says_what_settles_the_previous_loan_and_what_is_deposited(applicant):
    # Given an applicant half-way through a loan of the same product
    product = LoanProductFactory(code="PC")
    AffiliateLoanFactory(
        affiliate=applicant.affiliate,
        product_code="PC",
        balance=Decimal("22000.00"),
        installments_paid=40,
        installments_total=72,
    )
    application = draft_for(applicant, product)
    assert application.previous_balance == Decimal("22000.00")

    # When the contract of the renewal is rendered
    document = " ".join(pages_of(contract_pdf(application, draft=True, signed_on=SIGNED_ON)))

    # Then it says the previous balance is settled and what reaches the account
    assert "Saldo del préstamo vigente que se liquida $22,000.00" in document
    assert "aplicará $22,000.00 a liquidar el saldo del préstamo vigente" in document
    assert "$38,000.00 (TREINTA Y OCHO MIL PESOS 00/100 M.N.)" in document


def test_every_page_is_numbered_and_the_draft_is_marked_on_every_page(complete_draft):
    pages = pages_of(contract_pdf(complete_draft, draft=True, signed_on=SIGNED_ON))

    assert len(pages) > 3
    for number, page in enumerate(pages, start=1):
        assert f"Página {number} de {len(pages)}" in page
        # in the page header and across the page
        assert page.count("BORRADOR — sin validez") >= 2
        assert complete_draft.folio in page
    assert "Vista previa para que el solicitante revise" in pages[0]
    assert "FIRMA ELECTRÓNICA" not in " ".join(pages)


def test_the_signed_copy_has_the_signature_section_and_no_draft_mark(complete_draft):
    pages = pages_of(contract_pdf(complete_draft, draft=False, signed_on=SIGNED_ON))
    document = " ".join(pages)

    assert "FIRMA ELECTRÓNICA" in document
    assert (
        "lo firma con su firma electrónica avanzada (e.firma), junto con la tabla de "
        "amortización y el pagaré que contiene, en Guanajuato, Gto., el 10 de marzo de 2026"
    ) in document
    assert "borrador" not in document.lower()
    assert f"Página 1 de {len(pages)}" in pages[0]


def test_the_contract_prints_its_verification_url(complete_draft, settings):
    settings.PORTAL_BASE_URL = "https://prestamos.example.gob.mx"
    token = uuid.uuid4()

    url = verification_url(token)
    pages = pages_of(
        contract_pdf(complete_draft, draft=False, signed_on=SIGNED_ON, verification_token=token)
    )

    assert url == f"https://prestamos.example.gob.mx/verificar/{token}/"
    assert f"Verifique este contrato con el código QR o en {url}" in pages[0]


# --- Fonts ------------------------------------------------------------------------------------


def embedded_fonts(pdf: bytes) -> dict[str, set[str]]:
    """Each font the pages use, by name, with the font-file keys of its descriptor."""
    fonts: dict[str, set[str]] = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for reference in page["/Resources"]["/Font"].values():
            font = reference.get_object()
            # WeasyPrint writes Type 0 fonts: the descriptor is on the descendant CID font.
            cid_font = font["/DescendantFonts"][0].get_object()
            descriptor = cid_font["/FontDescriptor"].get_object()
            fonts[str(font["/BaseFont"])] = {
                key for key in ("/FontFile", "/FontFile2", "/FontFile3") if key in descriptor
            }
    return fonts


def test_the_signed_copy_embeds_the_projects_own_fonts(complete_draft):
    fonts = embedded_fonts(contract_pdf(complete_draft, draft=False, signed_on=SIGNED_ON))

    # Every font is embedded (subset: "ABCDEF+Name"), and every one is ours: none came from
    # the system in place of a font that failed to load.
    assert fonts
    assert all(files for files in fonts.values()), fonts
    names = {name.split("+", 1)[1] for name in fonts}
    assert names <= {
        "Contract-Serif",
        "Contract-Serif-Bold",
        "Contract-Serif-Italic",
        "Contract-Sans",
        "Contract-Sans-Bold",
    }, names
    # The body is set in the serif.
    assert {"Contract-Serif", "Contract-Sans"} <= names


def test_fonts_are_subset_with_harfbuzz_never_with_fonttools(complete_draft, monkeypatch, caplog):
    # WeasyPrint uses libharfbuzz-subset when it loaded it and HarfBuzz is recent enough;
    # otherwise it falls back, slowly, to fontTools.
    assert harfbuzz_subsets_fonts()
    subset_with_harfbuzz = []
    harfbuzz_subset = weasyprint_fonts.Font._harfbuzz_subset

    def spy(font, *args, **kwargs):
        subset_with_harfbuzz.append(font.family)
        return harfbuzz_subset(font, *args, **kwargs)

    def fonttools_subset(font, *args, **kwargs):
        raise AssertionError(f"{font.family} was subset with fontTools")

    monkeypatch.setattr(weasyprint_fonts.Font, "_harfbuzz_subset", spy)
    monkeypatch.setattr(weasyprint_fonts.Font, "_fonttools_subset", fonttools_subset)

    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        contract_pdf(complete_draft, draft=True, signed_on=SIGNED_ON)

    assert subset_with_harfbuzz
    assert not [record for record in caplog.records if "subset" in record.getMessage()]


# --- Resources: the project's static files only -----------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/static/css/contract.css",
        "https://example.org/logo.png",
        "file:///etc/passwd",
        "ftp://example.org/font.woff2",
        "static:../../../../etc/passwd",
        "static:/etc/passwd",
        "static:css/../../manage.py",
        "static:css%2F..%2F..%2Fmanage.py",
        "static:css/no-such-file.css",
        "static:",
    ],
)
def test_the_url_fetcher_refuses_anything_but_static_files(url):
    with pytest.raises(ResourceRefused):
        StaticFilesFetcher().fetch(url)


def test_the_url_fetcher_serves_static_files_and_data_urls():
    fetcher = StaticFilesFetcher()

    stylesheet = fetcher.fetch("static:css/contract.css")
    font = fetcher.fetch("static:vendor/fonts/noto-serif/noto-serif-latin-400-normal.woff2")
    data = fetcher.fetch("data:text/plain;charset=utf-8,hola")

    assert stylesheet.content_type == "text/css"
    assert b"@font-face" in stylesheet.read()
    assert font.read(4) == b"wOF2"
    assert data.read() == b"hola"


@pytest.fixture
def listening_socket():
    """A local port that would accept a connection, to tell whether anyone tried."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    server.close()


@pytest.mark.parametrize(
    "html",
    [
        '<img src="http://127.0.0.1:{port}/qr.png">',
        '<link rel="stylesheet" href="http://127.0.0.1:{port}/contract.css">',
        '<style>@font-face {{ font-family: X; src: url("http://127.0.0.1:{port}/x.woff2") }}'
        "</style><p style='font-family: X'>Hola</p>",
        '<img src="file:///etc/passwd">',
    ],
    ids=["image", "stylesheet", "font", "file"],
)
def test_a_document_that_asks_for_another_resource_is_not_rendered(html, listening_socket):
    port = listening_socket.getsockname()[1]

    with pytest.raises(PdfRenderingError, match="Only static files"):
        html_to_pdf(f"<html><body>{html.format(port=port)}<p>Contrato</p></body></html>")

    # Refused before any connection was attempted.
    with pytest.raises(BlockingIOError):
        listening_socket.accept()


# --- The preview for the applicant ------------------------------------------------------------


def test_the_owner_of_a_complete_draft_sees_the_draft_contract_inline(applicant, complete_draft):
    response = applicant.get(preview_url(complete_draft))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'inline; filename="contrato-{complete_draft.folio}-borrador.pdf"'
    )
    assert response["Cache-Control"] == "no-store"
    pages = pages_of(response.content)
    assert complete_draft.folio in pages[0]
    assert all("BORRADOR — sin validez" in page for page in pages)


def test_the_application_page_links_to_the_draft_contract_once_complete(applicant, complete_draft):
    page = applicant.get(detail_url(complete_draft))

    assert "Ver el contrato (borrador)" in text(page)
    assert f'href="{preview_url(complete_draft)}"' in page.content.decode()


def test_an_incomplete_draft_has_no_contract_to_see_yet(applicant):
    application = filled_draft_for(applicant)

    page = applicant.get(detail_url(application))
    response = applicant.get(preview_url(application))

    assert "Ver el contrato (borrador)" not in text(page)
    assert response.status_code == 302
    assert response.url == detail_url(application)
    # The one reason an application cannot be signed yet, as the signing page gives it.
    assert (
        f"Antes de firmar, completa los pasos de tu solicitud {application.folio} y confírmala "
        "en el último paso."
    ) in messages_of(response)


def test_a_cancelled_application_has_no_draft_contract(applicant, complete_draft):
    application_cancel(application=complete_draft, actor=applicant.user, ip_address=None)

    response = applicant.get(preview_url(complete_draft))

    assert response.status_code == 302
    assert response.url == detail_url(complete_draft)
    assert (
        f"La solicitud {complete_draft.folio} está cancelada: ya no se puede firmar."
    ) in messages_of(response)


def test_another_applicant_gets_a_404(other_applicant, complete_draft):
    assert other_applicant.get(preview_url(complete_draft)).status_code == 404


def test_staff_do_not_see_it_through_the_applicants_page(staff, complete_draft):
    assert staff.get(preview_url(complete_draft)).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(anonymous, complete_draft):
    response = anonymous.get(preview_url(complete_draft))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_the_preview_only_answers_get(applicant, complete_draft):
    assert applicant.post(preview_url(complete_draft)).status_code == 405
