"""The public verification page, /verificar/: an upload or a QR link, what it shows (and masks),
whether the file is the institute's, the PDF report, and every refusal in Spanish."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from pypdf import PdfReader

from signatures.models import SignedDocument
from signatures.verification import mask
from tests.pages import text
from tests.signatures.sealing import seal_document

VERIFY = reverse("signatures:verify")


def upload(client, content: bytes, *, url=VERIFY, name="contrato.pdf"):
    return client.post(url, {"documento": SimpleUploadedFile(name, content, "application/pdf")})


def test_an_uploaded_contract_shows_its_signer_masked_and_that_the_institute_holds_it(
    anonymous, signed_contract
):
    content = signed_contract.file.read()

    response = upload(anonymous, content)

    assert response.status_code == 200
    page = response.content.decode()
    assert "El documento está íntegro y todas sus firmas son válidas." in page
    assert f"el folio <strong>{signed_contract.reference}</strong>" in page
    assert signed_contract.signer_name in page
    # The CURP and RFC partly masked, never whole.
    assert mask(signed_contract.signer_curp) in page
    assert signed_contract.signer_curp not in page
    assert signed_contract.signer_rfc not in page
    assert "PAdES B-LT" in page
    assert signed_contract.sha256 in page
    # Nothing of the upload is kept.
    assert SignedDocument.objects.count() == 1


def test_a_changed_byte_is_reported_as_a_modified_document(anonymous, signed_contract):
    content = bytearray(signed_contract.file.read())
    # A byte inside the first page's content, which the signature covers.
    content[content.index(b"stream", 400) + 40] ^= 0x01

    response = upload(anonymous, bytes(content))

    page = response.content.decode()
    assert response.status_code == 200
    assert "El documento fue modificado después de firmarse." in page
    assert "El Instituto no conserva un archivo idéntico a este." in page


def test_a_file_broken_inside_is_unreadable_not_an_error(anonymous, signed_contract):
    content = bytearray(signed_contract.file.read())
    position = content.index(b"/Contents") - 40
    content[position : position + 8] = b"\x00" * 8

    response = upload(anonymous, bytes(content))

    assert response.status_code == 400
    assert "No se pudo leer el PDF" in response.content.decode()


def test_a_signature_field_whose_value_is_not_a_dictionary_is_unreadable(
    anonymous, signed_contract
):
    # Given the signed contract with its signature field's /V turned into a number, a string
    # and an array (each the same length as the reference it replaces)
    content = signed_contract.file.read()
    reference = re.search(rb"/V (\d+ 0 R)", content).group(1)
    width = len(reference)
    for value in (b"7".ljust(width), b"(x)".ljust(width), b"[1 2]".ljust(width)):
        broken = content.replace(b"/V " + reference, b"/V " + value, 1)

        # When it is uploaded
        response = upload(anonymous, broken)

        # Then it is an unreadable PDF, said in Spanish, not a server error
        assert response.status_code == 400
        assert "No se pudo leer el PDF: el archivo está dañado o incompleto." in text(response)


def test_a_corrupt_flate_stream_is_unreadable(anonymous, signed_contract):
    # Given the signed contract with garbage in the compressed stream of its last
    # cross-reference table (pyHanko inflates it only while validating)
    content = signed_contract.file.read()
    start = content.rindex(b"/FlateDecode")
    data = content.index(b"stream\n", start) + len(b"stream\n") + 2
    broken = content[:data] + bytes(b ^ 0xFF for b in content[data : data + 16])
    broken += content[data + 16 :]

    response = upload(anonymous, broken)

    assert response.status_code == 400
    assert "No se pudo leer el PDF: el archivo está dañado o incompleto." in text(response)


def test_the_qr_link_shows_the_institute_s_latest_version(anonymous, signed_contract, seal):
    sealed = seal_document(signed_contract)

    response = anonymous.get(
        reverse("signatures:verify_token", args=[signed_contract.verification_token])
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert f"Documento del folio {signed_contract.reference}" in page
    assert sealed.sha256 in page
    assert "Firma 2:" in page
    assert "Sello de tiempo del archivo completo" in page
    assert "PAdES B-LTA" in page


def test_comparing_the_signed_version_on_the_qr_page_says_it_is_not_the_latest(
    anonymous, signed_contract, seal
):
    first = signed_contract.file.read()
    seal_document(signed_contract)
    url = reverse("signatures:verify_token", args=[signed_contract.verification_token])

    response = upload(anonymous, first, url=url)

    page = response.content.decode()
    assert "no es idéntico a la versión vigente" in page
    assert "El Instituto conserva además una versión posterior" in page


def test_an_unknown_token_is_not_found(anonymous, db):
    response = anonymous.get(
        reverse("signatures:verify_token", args=["7d3a2e5c-1f1b-4a8e-9f0e-000000000000"])
    )
    assert response.status_code == 404


def test_the_report_downloads_as_a_pdf_with_the_same_result(anonymous, signed_contract):
    upload(anonymous, signed_contract.file.read())

    response = anonymous.get(reverse("signatures:verify_report"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "todas sus firmas son válidas" in text
    assert signed_contract.reference in text
    assert signed_contract.signer_curp not in text


def test_the_report_without_a_verification_goes_back_to_the_form(anonymous, db):
    response = anonymous.get(reverse("signatures:verify_report"))
    assert response.status_code == 302
    assert response["Location"] == VERIFY


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"GIF89a not a pdf", 400, "El archivo no es un PDF"),
        (b"%PDF-1.7\n garbage", 400, "No se pudo leer el PDF"),
        (b"%PDF-1.4\n" + b"0" * (20 * 1024 * 1024), 413, "el máximo es 20 MB"),
    ],
)
def test_a_bad_upload_gets_a_clear_spanish_message(anonymous, db, content, status, message):
    response = upload(anonymous, content)

    assert response.status_code == status
    assert message in response.content.decode()


def test_no_file_is_asked_for(anonymous, db):
    response = anonymous.post(VERIFY, {})
    assert response.status_code == 400
    assert "Elige el archivo PDF" in response.content.decode()


def test_an_unsigned_pdf_says_it_has_no_signatures(anonymous, db):
    from pypdf import PdfWriter

    buffer = io.BytesIO()
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer.write(buffer)

    response = upload(anonymous, buffer.getvalue())

    assert response.status_code == 200
    assert "Este PDF no tiene firmas electrónicas." in response.content.decode()


def test_uploads_are_limited_per_address(anonymous, db, settings):
    settings.SIGNATURES_VERIFY_RATE = "2/m"

    statuses = [upload(anonymous, b"GIF89a").status_code for _ in range(3)]

    assert statuses == [400, 400, 429]


def test_the_page_needs_the_csrf_token(db, signed_contract):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = upload(client, signed_contract.file.read())
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("value", "masked"),
    [("GOMA800101HGTRRN01", "GOMA************01"), ("ABC", "***")],
)
def test_masking_keeps_the_ends(value, masked):
    assert mask(value) == masked


def test_anonymous_visits_of_the_page_and_the_qr_link_create_no_session(anonymous, signed_contract):
    from django.contrib.sessions.models import Session

    url = reverse("signatures:verify_token", args=[signed_contract.verification_token])
    # (The applicant who signed it has the one session of their login.)
    sessions_before = Session.objects.count()

    # When 100 anonymous visitors open the QR link (and the page itself), each without cookies
    for _ in range(50):
        anonymous.cookies.clear()
        assert anonymous.get(url).status_code == 200
        anonymous.cookies.clear()
        assert anonymous.get(VERIFY).status_code == 200

    # Then the database holds no session for them
    assert Session.objects.count() == sessions_before


def test_the_qr_link_s_report_downloads_without_a_session(anonymous, signed_contract):
    from django.contrib.sessions.models import Session

    sessions_before = Session.objects.count()
    page = anonymous.get(
        reverse("signatures:verify_token", args=[signed_contract.verification_token])
    )
    report_url = reverse(
        "signatures:verify_token_report", args=[signed_contract.verification_token]
    )
    assert f'href="{report_url}"' in page.content.decode()

    response = anonymous.get(report_url)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text_of_pdf = "".join(
        page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages
    )
    assert "todas sus firmas son válidas" in text_of_pdf
    assert signed_contract.reference in text_of_pdf
    assert Session.objects.count() == sessions_before


def test_the_form_still_posts_with_its_csrf_token(db, signed_contract):
    from django.test import Client

    # Given a browser that opened the page (and so holds the CSRF cookie)
    client = Client(enforce_csrf_checks=True)
    page = client.get(reverse("signatures:verify_token", args=[signed_contract.verification_token]))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)

    # When it posts the form with the token
    response = client.post(
        VERIFY,
        {
            "csrfmiddlewaretoken": token,
            "documento": SimpleUploadedFile(
                "contrato.pdf", signed_contract.file.read(), "application/pdf"
            ),
        },
    )

    # Then the file is verified
    assert response.status_code == 200
    assert "El documento está íntegro y todas sus firmas son válidas." in text(response)


@pytest.fixture
def replaced_contract(complete_draft, demo_credentials, analyst):
    """The contract the applicant signed first, and the one they signed after the analyst
    returned the application for correction (a devolución): (first, second)."""
    from loans.services import application_complete, application_return
    from tests.builders import committed, sign_with_efirma, take_for_review

    first = sign_with_efirma(complete_draft, demo_credentials)
    take_for_review(complete_draft, analyst)
    with committed():
        application_return(
            application=complete_draft,
            actor=analyst.user,
            reason="Falta la página 2 de la INE.",
            ip_address=None,
        )
    application_complete(application=complete_draft, privacy_accepted=True, terms_accepted=True)
    second = sign_with_efirma(complete_draft, demo_credentials)
    return first, second


def _local(moment) -> str:
    from django.utils import timezone

    return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M")


def test_the_qr_link_of_a_replaced_contract_says_when_and_by_which_version(
    anonymous, replaced_contract
):
    first, second = replaced_contract
    assert first.verification_token != second.verification_token

    # When someone follows the QR code printed on the first contract
    response = anonymous.get(reverse("signatures:verify_token", args=[first.verification_token]))

    # Then the page says it was replaced, when, and links to the version that replaced it
    assert response.status_code == 200
    page = text(response)
    assert "Este documento fue reemplazado por una versión nueva." in page
    assert f"El {_local(second.created_at)} se firmó una nueva versión" in page
    second_url = reverse("signatures:verify_token", args=[second.verification_token])
    assert f'href="{second_url}"' in response.content.decode()
    # ...and never presents the first file as simply the one the institute keeps
    assert "Abajo está lo que prueban las firmas del archivo que conserva el Instituto." not in page
    assert "Es el archivo que el Instituto conserva" not in page
    assert "Es una versión reemplazada del documento del folio" in page


def test_the_qr_link_of_the_new_version_is_the_current_one(anonymous, replaced_contract):
    _first, second = replaced_contract

    response = anonymous.get(reverse("signatures:verify_token", args=[second.verification_token]))

    page = text(response)
    assert "reemplaz" not in page
    assert f"Es el archivo que el Instituto conserva para el folio {second.reference}" in page


def test_an_upload_of_a_replaced_contract_says_so_in_the_page_and_the_report(
    anonymous, replaced_contract
):
    first, second = replaced_contract

    response = upload(anonymous, first.file.read())

    page = text(response)
    assert response.status_code == 200
    assert "Es una versión reemplazada del documento del folio" in page
    assert f"El {_local(second.created_at)} se firmó una nueva versión" in page
    assert "Es el archivo que el Instituto conserva" not in page
    second_url = reverse("signatures:verify_token", args=[second.verification_token])
    assert f'href="{second_url}"' in response.content.decode()

    report = anonymous.get(reverse("signatures:verify_report"))
    text_of_pdf = " ".join(
        " ".join(page.extract_text().split())
        for page in PdfReader(io.BytesIO(report.content)).pages
    )
    assert "reemplazada" in text_of_pdf
    assert _local(second.created_at) in text_of_pdf
