"""Bad and hostile inputs, one table per surface, through the portal's real endpoints.

Every case asserts three things: the answer is a 4xx (or, for the affiliates file, the row is
rejected with its reason; for the verification page, the PDF is judged and shown as not valid),
the answer says in Spanish what is wrong (a specific phrase), and what was saved before (the
draft's fields, its documents, a signed application, another person's session or link) is
exactly as it was, re-read from the database. A 500 fails every one of them.
"""

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from io import BytesIO, StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from affiliates.models import Affiliate, AffiliateLink
from affiliates.sources import CsvSource
from affiliates.sync import affiliates_sync
from loans.models import ApplicationStatus, DocumentKind, LoanApplication
from signatures.models import SignedDocument, SigningSession
from surveys.models import Response
from tests.affiliates.rows import affiliate_row, write_csv
from tests.builders import VALID_CLABE, complete_draft_for, sign, signed_for
from tests.factories import AffiliateFactory
from tests.pages import text as page_text
from tests.reliability import inputs
from tests.surveys.links import answer_url, invitation_of

S = ApplicationStatus
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sat"

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("institute_down")]


def messages_of(response) -> str:
    return " ".join(str(message) for message in get_messages(response.wsgi_request))


def saved_state(application: LoanApplication) -> dict[str, Any]:
    """What the applicant saved, re-read from the database: fields, documents, signatures."""
    fresh = LoanApplication.objects.get(pk=application.pk)
    fields = {
        name: getattr(fresh, name)
        for name in (
            "status",
            "amount",
            "quincenas",
            "phone",
            "email",
            "clabe",
            "account_is_own",
            "completed_step",
            "completed_at",
            "product_id",
        )
    }
    documents = sorted(
        fresh.documents.values_list("kind", "sha256", "original_name", "superseded_at")
    )
    signed = sorted(
        SignedDocument.objects.filter(reference=fresh.folio).values_list("kind", "sha256")
    )
    for _kind, sha256, *_rest in documents:
        assert sha256, "every stored document has its digest"
    return {
        "fields": fields,
        "documents": documents,
        "signed": signed,
        "events": fresh.events.count(),
    }


# === 1. The signing API: prepare and finish ======================================================


@dataclass(frozen=True)
class SigningCase:
    # (context) -> the response of the bad request
    send: Callable[["SigningContext"], Any]
    status: int
    error: str
    phrase: str


@dataclass
class SigningContext:
    client: Client
    draft: LoanApplication
    demo_pki: Any
    credentials: Any
    tmp_path: Path
    other_client: Client

    def issue(self, **options) -> bytes:
        affiliate = self.client.affiliate
        issued = self.demo_pki.issue(
            curp=affiliate.curp,
            rfc=affiliate.rfc,
            name=affiliate.full_name.upper(),
            out_dir=self.tmp_path / "otras",
            **options,
        )
        return issued.certificate_path.read_bytes()


def _prepare(context: SigningContext, certificate: bytes | None):
    url = reverse("loans:sign_prepare", args=[context.draft.public_id])
    data = {}
    if certificate is not None:
        data["certificate"] = SimpleUploadedFile(
            "certificado.cer", certificate, "application/pkix-cert"
        )
    return context.client.post(url, data)


def _finish(context: SigningContext, *, session: str | None = None, signature: str):
    if session is None:
        prepared = _prepare(context, context.credentials.certificate)
        assert prepared.status_code == 200, prepared.json()
        session = prepared.json()["session"]
    url = reverse("loans:sign_finish", args=[context.draft.public_id])
    return context.client.post(url, {"session": session, "signature": signature})


def _with_sessions_of_another_user(context: SigningContext):
    """The other applicant prepares their own contract; this one posts that session."""
    other = context.other_client
    other_draft = complete_draft_for(other)
    other_issued = context.demo_pki.issue(
        curp=other.affiliate.curp,
        rfc=other.affiliate.rfc,
        name="OTRA PERSONA",
        out_dir=context.tmp_path / "otra",
    )
    url = reverse("loans:sign_prepare", args=[other_draft.public_id])
    prepared = other.post(
        url,
        {
            "certificate": SimpleUploadedFile(
                "c.cer", other_issued.certificate_path.read_bytes(), "application/pkix-cert"
            )
        },
    )
    assert prepared.status_code == 200, prepared.json()
    token = prepared.json()["session"]
    signature = base64.b64encode(b"\x01" * 256).decode()
    response = _finish(context, session=token, signature=signature)
    # The other person's session is untouched: still open, their draft still a draft.
    session = SigningSession.objects.get(reference=other_draft.folio)
    assert session.finished_at is None
    other_draft.refresh_from_db()
    assert other_draft.status == S.DRAFT
    return response


def _truncated(context: SigningContext) -> bytes:
    data = context.credentials.certificate
    return data[: len(data) // 2]


SIGNING_CASES = {
    "certificate_missing": SigningCase(
        lambda c: _prepare(c, None), 400, "certificate_missing", "Selecciona el certificado"
    ),
    "certificate_empty_file": SigningCase(
        lambda c: _prepare(c, b""), 400, "certificate_missing", "Selecciona el certificado"
    ),
    "certificate_garbage_bytes": SigningCase(
        lambda c: _prepare(c, bytes(range(256)) * 4),
        400,
        "certificate_unreadable",
        "no es un certificado legible",
    ),
    "certificate_pem_armoured_garbage": SigningCase(
        lambda c: _prepare(c, inputs.pem_armored(b"no soy un certificado")),
        400,
        "certificate_unreadable",
        "no es un certificado legible",
    ),
    "certificate_truncated_der": SigningCase(
        lambda c: _prepare(c, _truncated(c)),
        400,
        "certificate_unreadable",
        "no es un certificado legible",
    ),
    "certificate_is_the_private_key": SigningCase(
        lambda c: _prepare(c, c.credentials.key_path.read_bytes()),
        400,
        "certificate_unreadable",
        "no es un certificado legible",
    ),
    "certificate_over_the_limit": SigningCase(
        lambda c: _prepare(c, c.credentials.certificate * 20),
        400,
        "certificate_unreadable",
        "demasiado grande para ser un certificado",
    ),
    "certificate_far_over_the_read_limit": SigningCase(
        lambda c: _prepare(c, b"\x30\x82" + b"\x00" * (512 * 1024)),
        400,
        "certificate_unreadable",
        "demasiado grande para ser un certificado",
    ),
    "certificate_of_an_untrusted_ca": SigningCase(
        lambda c: _prepare(
            c,
            inputs.self_signed_certificate(
                curp=c.client.affiliate.curp, rfc=c.client.affiliate.rfc, name="FALSA"
            ),
        ),
        422,
        "certificate_refused",
        "no fue emitido por una autoridad certificadora que el Instituto acepte",
    ),
    "certificate_of_the_real_sat_test_ca": SigningCase(
        lambda c: _prepare(c, (FIXTURES / "FIEL_AAA010101AAA" / "certificate.cer").read_bytes()),
        422,
        "certificate_refused",
        "no fue emitido por una autoridad certificadora que el Instituto acepte",
    ),
    "certificate_expired": SigningCase(
        lambda c: _prepare(
            c,
            c.issue(
                not_before=timezone.now() - timedelta(days=800),
                not_after=timezone.now() - timedelta(days=30),
            ),
        ),
        422,
        "certificate_refused",
        "El certificado está vencido",
    ),
    "certificate_revoked": SigningCase(
        lambda c: _prepare(c, c.issue(revoked=True)),
        422,
        "certificate_refused",
        "fue revocado por la autoridad que lo emitió",
    ),
    "certificate_without_non_repudiation": SigningCase(
        lambda c: _prepare(c, c.issue(key_usage_non_repudiation=False)),
        422,
        "certificate_refused",
        "no sirve para firmar documentos",
    ),
    "signature_not_base64": SigningCase(
        lambda c: _finish(c, signature="%%% no es base64 %%%"),
        400,
        "signature_invalid",
        "No se recibió una firma válida (base64)",
    ),
    "signature_empty": SigningCase(
        lambda c: _finish(c, signature=""),
        400,
        "signature_invalid",
        "No se recibió una firma válida (base64)",
    ),
    "signature_too_long": SigningCase(
        lambda c: _finish(c, signature=base64.b64encode(b"\x01" * 4096).decode()),
        400,
        "signature_invalid",
        "No se recibió una firma válida (base64)",
    ),
    "signature_of_the_wrong_length": SigningCase(
        lambda c: _finish(c, signature=base64.b64encode(b"\x01" * 17).decode()),
        400,
        "signature_invalid",
        "no corresponde a tu certificado",
    ),
    "session_of_another_user": SigningCase(
        _with_sessions_of_another_user, 400, "session_expired", "venció o ya se usó"
    ),
    "session_token_garbage": SigningCase(
        lambda c: _finish(
            c, session="<script>" * 2000, signature=base64.b64encode(b"\x01" * 256).decode()
        ),
        400,
        "session_expired",
        "venció o ya se usó",
    ),
}


@pytest.mark.parametrize("case", SIGNING_CASES.values(), ids=SIGNING_CASES.keys())
def test_signing_api_refuses(
    case, applicant, other_applicant, product, demo_pki, demo_credentials, tmp_path
):
    draft = complete_draft_for(applicant, product)
    before = saved_state(draft)
    context = SigningContext(
        client=applicant,
        draft=draft,
        demo_pki=demo_pki,
        credentials=demo_credentials,
        tmp_path=tmp_path,
        other_client=other_applicant,
    )

    response = case.send(context)

    assert response.status_code == case.status, response.content
    body = response.json()
    assert body["error"] == case.error
    assert case.phrase in body["message"]
    assert saved_state(draft) == before
    assert before["fields"]["status"] == S.DRAFT
    assert not SignedDocument.objects.filter(reference=draft.folio).exists()


def test_signing_still_works_after_every_refusal(applicant, product, demo_credentials):
    """The refusals above leave the draft signable: the right files then sign it."""
    draft = complete_draft_for(applicant, product)
    context = SigningContext(applicant, draft, None, demo_credentials, Path("."), applicant)
    assert _prepare(context, b"garbage").status_code == 400
    assert _finish(context, signature="%%%").status_code == 400

    prepared = _prepare(context, demo_credentials.certificate).json()
    signature = demo_credentials.sign(base64.b64decode(prepared["signed_attributes"]))
    finished = _finish(
        context, session=prepared["session"], signature=base64.b64encode(signature).decode()
    )
    assert finished.status_code == 200, finished.json()
    draft.refresh_from_db()
    assert draft.status == S.SIGNED


# === 2. The public verification page ============================================================

VERIFY = reverse("signatures:verify")


@dataclass(frozen=True)
class VerifyCase:
    content: Callable[[], bytes | None]
    status: int
    phrase: str
    name: str = "contrato.pdf"
    content_type: str = "application/pdf"


VERIFY_CASES = {
    "no_file": VerifyCase(lambda: None, 400, "Elige el archivo PDF"),
    "empty_file": VerifyCase(lambda: b"", 400, "El archivo no es un PDF"),
    "text_named_pdf": VerifyCase(lambda: b"Hola, soy un texto.\n", 400, "El archivo no es un PDF"),
    "jpeg_renamed_pdf": VerifyCase(
        lambda: inputs.image_bytes("JPEG"), 400, "El archivo no es un PDF"
    ),
    "html_named_pdf": VerifyCase(inputs.html_page, 400, "El archivo no es un PDF"),
    "over_20_mb": VerifyCase(
        lambda: inputs.oversized_pdf(20 * 1024 * 1024), 413, "el máximo es 20 MB"
    ),
    "truncated_in_the_middle": VerifyCase(
        inputs.truncated_pdf, 400, "No se pudo leer el PDF: el archivo está dañado o incompleto"
    ),
    "broken_xref": VerifyCase(
        inputs.pdf_with_broken_xref,
        400,
        "No se pudo leer el PDF: el archivo está dañado o incompleto",
    ),
    "deeply_nested_objects": VerifyCase(
        inputs.deeply_nested_pdf,
        400,
        "No se pudo leer el PDF: el archivo está dañado o incompleto",
    ),
    "pdf_zip_polyglot": VerifyCase(
        inputs.pdf_zip_polyglot,
        400,
        "No se pudo leer el PDF: el archivo está dañado o incompleto",
    ),
    # A readable PDF is judged, not refused: the page says it proves nothing (no signature).
    "javascript_and_no_signature": VerifyCase(
        inputs.pdf_with_javascript, 200, "Este PDF no tiene firmas electrónicas."
    ),
}


@pytest.mark.parametrize("case", VERIFY_CASES.values(), ids=VERIFY_CASES.keys())
def test_verification_page_refuses(case, anonymous, applicant, product):
    # Something signed already held by the institute, which no upload may change.
    signed = signed_for(applicant, product)
    before = saved_state(signed)
    held = list(SignedDocument.objects.values_list("pk", "sha256"))
    content = case.content()
    data = {}
    if content is not None:
        data["documento"] = SimpleUploadedFile(case.name, content, case.content_type)

    response = anonymous.post(VERIFY, data)

    assert response.status_code == case.status
    assert case.phrase in page_text(response)
    if case.status == 200:
        assert "El documento está íntegro" not in page_text(response)
    assert saved_state(signed) == before
    assert list(SignedDocument.objects.values_list("pk", "sha256")) == held


# === 3. The wizard's document uploads ============================================================


@dataclass(frozen=True)
class UploadCase:
    name: str
    content: Callable[[], bytes]
    status: int
    phrase: str
    kind: str = DocumentKind.PROOF_OF_ADDRESS
    on: str = "draft"  # or "signed": an application that can no longer change


FIVE_MB = 5 * 1024 * 1024

UPLOAD_CASES = {
    "exe_renamed_pdf": UploadCase(
        "ine.pdf",
        inputs.windows_executable,
        400,
        "El archivo dice ser PDF pero su contenido no lo es.",
    ),
    "html_renamed_png": UploadCase(
        "recibo.png", inputs.html_page, 400, "El archivo dice ser PNG pero su contenido no lo es."
    ),
    "jpeg_renamed_png": UploadCase(
        "recibo.png", lambda: inputs.image_bytes("JPEG"), 400, "Parece un archivo JPG"
    ),
    "png_html_polyglot": UploadCase(
        "recibo.png", inputs.png_html_polyglot, 400, "La imagen está dañada o incompleta"
    ),
    "pdf_zip_polyglot": UploadCase(
        "recibo.pdf", inputs.pdf_zip_polyglot, 400, "El PDF está dañado o incompleto"
    ),
    "truncated_pdf": UploadCase(
        "recibo.pdf", inputs.truncated_pdf, 400, "El PDF está dañado o incompleto"
    ),
    "exe_extension": UploadCase(
        "recibo.exe", inputs.windows_executable, 400, "Solo se aceptan archivos PDF, JPG o PNG"
    ),
    "html_extension": UploadCase(
        "recibo.html", inputs.html_page, 400, "Solo se aceptan archivos PDF, JPG o PNG"
    ),
    "empty_file": UploadCase("recibo.pdf", lambda: b"", 400, "El archivo está vacío"),
    "just_over_5_mb": UploadCase(
        "recibo.pdf",
        lambda: inputs.oversized_pdf(FIVE_MB),
        400,
        "El archivo pesa 5.1 MB y el máximo es 5 MB",
    ),
    "far_over_5_mb": UploadCase(
        "recibo.pdf",
        lambda: inputs.oversized_pdf(FIVE_MB + 512 * 1024),
        413,
        "El archivo pesa más de 5 MB",
    ),
    "unknown_kind": UploadCase(
        "recibo.pdf",
        inputs.blank_pdf,
        400,
        "Elige qué documento estás subiendo",
        kind="<script>alert(1)</script>",
    ),
    "upload_to_a_signed_application": UploadCase(
        "recibo.pdf", inputs.blank_pdf, 409, "ya no se puede modificar", on="signed"
    ),
}


@pytest.mark.parametrize("case", UPLOAD_CASES.values(), ids=UPLOAD_CASES.keys())
def test_document_upload_refuses(case, applicant, product):
    application = complete_draft_for(applicant, product)
    if case.on == "signed":
        application = sign(application)
    before = saved_state(application)
    assert len(before["documents"]) == 3
    url = reverse("loans:application_step", args=[application.public_id, 4])

    response = applicant.post(
        url,
        {"kind": case.kind, "file": SimpleUploadedFile(case.name, case.content(), "image/png")},
    )

    assert response.status_code == case.status
    assert case.phrase in page_text(response) + " " + messages_of(response)
    assert saved_state(application) == before


def test_an_upload_without_a_file_is_refused(applicant, product):
    application = complete_draft_for(applicant, product)
    before = saved_state(application)
    url = reverse("loans:application_step", args=[application.public_id, 4])

    response = applicant.post(url, {"kind": DocumentKind.IDENTIFICATION})

    assert response.status_code == 400
    assert "Elige el archivo que vas a subir." in page_text(response)
    assert saved_state(application) == before


# === 4. The CLABE (step 3) =======================================================================


def _clabe_with_wrong_digit() -> str:
    last = VALID_CLABE[-1]
    return VALID_CLABE[:-1] + ("1" if last != "1" else "2")


CLABE_CASES = {
    "wrong_check_digit": ({"clabe": _clabe_with_wrong_digit()}, "el dígito verificador"),
    "seventeen_digits": ({"clabe": VALID_CLABE[:-1]}, "escribiste 17"),
    "nineteen_digits": ({"clabe": VALID_CLABE + "1"}, "escribiste 19"),
    "letters": ({"clabe": "0021807012345678AB"}, "La CLABE solo lleva números"),
    "unknown_bank": ({"clabe": "999" + VALID_CLABE[3:]}, "no corresponden a ningún banco"),
    "script_tag": ({"clabe": "<script>alert(1)</script>"}, "La CLABE solo lleva números"),
    "empty": ({"clabe": ""}, "Escribe la CLABE de tu cuenta."),
    "far_too_long": ({"clabe": "0" * 5000}, "30 caracteres"),
    "not_declared_own": (
        {"clabe": VALID_CLABE, "account_is_own": ""},
        "Marca la casilla para declarar que la cuenta está a tu nombre.",
    ),
}


@pytest.mark.parametrize(("data", "phrase"), CLABE_CASES.values(), ids=CLABE_CASES.keys())
def test_clabe_refuses(data, phrase, applicant, product):
    application = complete_draft_for(applicant, product)
    before = saved_state(application)
    assert before["fields"]["clabe"] == VALID_CLABE
    url = reverse("loans:application_step", args=[application.public_id, 3])

    response = applicant.post(url, {"account_is_own": "on", **data})

    assert response.status_code == 400
    assert phrase in page_text(response)
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert saved_state(application) == before


# === 5. Amounts and terms when an application starts =============================================

START_CASES = {
    "amount_negative": ({"amount": "-5000"}, "El monto debe ser una cantidad en pesos"),
    "amount_zero": ({"amount": "0"}, "El monto debe ser mayor que cero"),
    "amount_over_the_product_maximum": (
        {"amount": "300000"},
        "El monto máximo de este préstamo es $250,000.00",
    ),
    "amount_with_letters": ({"amount": "60mil"}, "El monto debe ser una cantidad en pesos"),
    "amount_exponent": ({"amount": "1e9"}, "El monto debe ser una cantidad en pesos"),
    "amount_nan": ({"amount": "NaN"}, "El monto debe ser una cantidad en pesos"),
    "amount_infinity": ({"amount": "Infinity"}, "El monto debe ser una cantidad en pesos"),
    "amount_huge_digits": ({"amount": "9" * 29}, "El monto debe ser mayor que cero y menor"),
    "amount_longer_than_the_field": ({"amount": "9" * 400}, "30 caracteres"),
    "term_zero": ({"quincenas": "0"}, "El plazo debe ser de al menos una quincena."),
    "term_negative": ({"quincenas": "-24"}, "El plazo debe ser de al menos una quincena."),
    "term_over_the_product": ({"quincenas": "120"}, "va de 24 a 96 quincenas"),
    "term_over_any_product": ({"quincenas": "99999999999999999999"}, "no puede pasar de"),
    "term_fraction": ({"quincenas": "48.5"}, "El plazo debe ser un número entero de quincenas."),
    "product_unknown": (
        {"product": "<b>NOEXISTE</b>"},
        "El préstamo que elegiste no está disponible.",
    ),
}


@pytest.mark.parametrize(("data", "phrase"), START_CASES.values(), ids=START_CASES.keys())
def test_application_start_refuses(data, phrase, applicant, product):
    # An application the applicant already signed: nothing about it may change.
    signed = signed_for(applicant, product)
    before = saved_state(signed)
    count = LoanApplication.objects.count()

    response = applicant.post(
        reverse("loans:application_start"),
        {"product": "PC", "amount": "60000", "quincenas": "48", **data},
    )

    assert response.status_code == 400
    assert phrase in messages_of(response)
    assert "<b>NOEXISTE</b>" not in response.content.decode()
    assert LoanApplication.objects.count() == count
    assert saved_state(signed) == before


# === 6. The simulator ============================================================================

SIMULATOR_CASES = {
    "amount_negative": ({"amount": "-1"}, "Escribe el monto en pesos, solo con números"),
    "amount_nan": ({"amount": "NaN"}, "Escribe el monto en pesos, solo con números"),
    "amount_exponent": ({"amount": "1e9"}, "Escribe el monto en pesos, solo con números"),
    "amount_comma_for_centavos": (
        {"amount": "60,5"},
        "Escribe el monto en pesos, solo con números",
    ),
    "amount_below_minimum": ({"amount": "10"}, "El monto mínimo de este préstamo es $5,000.00"),
    "amount_400_digits": ({"amount": "9" * 400}, "El monto máximo de este préstamo es"),
    "amount_three_decimals": ({"amount": "60000.123"}, "a lo más dos decimales"),
    "term_zero": ({"quincenas": "0"}, "El plazo de este préstamo va de 24 a 96 quincenas."),
    "term_huge": (
        {"quincenas": "9" * 40},
        "El plazo de este préstamo va de 24 a 96 quincenas.",
    ),
    "term_letters": ({"quincenas": "48 q"}, "Escribe el plazo como un número entero"),
    "product_unknown": ({"product": "ZZZ"}, "Ese préstamo no está disponible"),
}


@pytest.mark.parametrize(("data", "phrase"), SIMULATOR_CASES.values(), ids=SIMULATOR_CASES.keys())
def test_simulator_refuses(data, phrase, anonymous, applicant, product):
    for client in (anonymous, applicant):
        response = client.get(
            reverse("loans:simulator"),
            {"product": "PC", "amount": "60000", "quincenas": "48", **data},
        )
        assert response.status_code == 400
        assert phrase in page_text(response)
    assert not LoanApplication.objects.exists()


# === 7. Linking an account to an affiliation =====================================================


@pytest.fixture
def target(db) -> Affiliate:
    return AffiliateFactory()


def _other_check_digit(curp: str) -> str:
    return curp[:-1] + ("0" if curp[-1] != "0" else "1")


LINK_CASES = {
    "curp_too_short": (lambda a: {"curp": "HOLA"}, "La CURP debe tener 18 caracteres."),
    "curp_wrong_check_digit": (
        lambda a: {"curp": _other_check_digit(a.curp)},
        "su dígito verificador no corresponde",
    ),
    "curp_malformed": (
        lambda a: {"curp": "123456789012345678"},
        "no tiene un formato válido",
    ),
    "curp_with_markup": (
        lambda a: {"curp": "<script>x</script>"},
        "La CURP",
    ),
    "number_not_matching": (
        lambda a: {"number": "000000"},
        "Los datos no coinciden con ningún afiliado.",
    ),
    "birth_date_not_matching": (
        lambda a: {"birth_date": "1980-01-01"},
        "Los datos no coinciden con ningún afiliado.",
    ),
    "birth_date_impossible": (
        lambda a: {"birth_date": "31/02/1975"},
        "Escribe tu fecha de nacimiento como dd/mm/aaaa",
    ),
    "birth_date_before_1900": (lambda a: {"birth_date": "1850-01-01"}, "no es una fecha posible"),
    "number_too_long": (lambda a: {"number": "1" * 300}, "como máximo 20 caracteres"),
    "affiliate_of_another_account": (
        lambda a: {"curp": "other", "number": "other", "birth_date": "other"},
        "ya está vinculada con otra cuenta del portal",
    ),
}


@pytest.mark.parametrize(("change", "phrase"), LINK_CASES.values(), ids=LINK_CASES.keys())
def test_affiliate_linking_refuses(change, phrase, unlinked, other_applicant, target):
    data = {
        "curp": target.curp,
        "number": target.number,
        "birth_date": target.birth_date.isoformat(),
        "net_pay": str(target.net_pay),
        **change(target),
    }
    theirs = other_applicant.affiliate
    if data["curp"] == "other":
        data = {
            "curp": theirs.curp,
            "number": theirs.number,
            "birth_date": theirs.birth_date.isoformat(),
            "net_pay": str(theirs.net_pay),
        }
    links_before = list(AffiliateLink.objects.values_list("pk", "user_id", "affiliate_id"))

    response = unlinked.post(reverse("affiliates:link"), data)

    assert response.status_code == 400
    assert phrase in page_text(response)
    assert "<script>x</script>" not in response.content.decode()
    assert list(AffiliateLink.objects.values_list("pk", "user_id", "affiliate_id")) == (
        links_before
    )
    assert not AffiliateLink.objects.filter(user=unlinked.user).exists()


def test_a_lowercase_curp_with_spaces_is_normalised_and_links(unlinked, target):
    curp = " ".join([target.curp[:4].lower(), target.curp[4:10], target.curp[10:].lower()])

    response = unlinked.post(
        reverse("affiliates:link"),
        {
            "curp": f"  {curp}  ",
            "number": target.number,
            "birth_date": "15/06/1975",
            "net_pay": str(target.net_pay),
        },
    )

    assert response.status_code == 302
    assert AffiliateLink.objects.get(user=unlinked.user).affiliate == target


# === 8. The affiliates file (sync from CSV) ======================================================


def _existing_affiliate(tmp_path) -> dict:
    row = affiliate_row()
    result = affiliates_sync(
        source=CsvSource(affiliates_path=write_csv(tmp_path / "antes.csv", [row]))
    )
    assert result.created == 1
    return row


def _affiliate_fields(number: str) -> dict:
    return (
        Affiliate.objects.filter(number=number)
        .values(
            "curp",
            "rfc",
            "given_names",
            "first_surname",
            "base_salary",
            "net_pay",
            "birth_date",
            "source_digest",
        )
        .get()
    )


CSV_ROW_CASES = {
    "curp_malformed": ({"curp": "XXXX000000XXXXXX00"}, "CURP inválida"),
    "birth_date_impossible": (
        {"fecha_nacimiento": "1975-02-30"},
        "fecha de nacimiento inválida: '1975-02-30'",
    ),
    "salary_negative": ({"sueldo_base_quincenal": "-1.00"}, "monto negativo en sueldo_base"),
    "salary_with_letters": ({"sueldo_base_quincenal": "mucho"}, "monto inválido en sueldo_base"),
    "formula_in_the_name": ({"nombre": "=cmd|' /C calc'!A0"}, "fórmula"),
    "formula_in_the_municipality": ({"municipio": "@SUM(1+1)*cmd|' /C calc'!A0"}, "fórmula"),
    "duplicated_number": ("duplicate", "número de afiliación repetido"),
    "overwrites_an_existing_curp": ("existing_curp", "ya está registrada en el portal"),
}


@pytest.mark.parametrize(("change", "phrase"), CSV_ROW_CASES.values(), ids=CSV_ROW_CASES.keys())
def test_affiliates_file_rejects_the_bad_row_and_loads_the_rest(change, phrase, tmp_path):
    existing = _existing_affiliate(tmp_path)
    existing_before = _affiliate_fields(existing["numero_afiliacion"])
    first, bad, last = affiliate_row(), affiliate_row(), affiliate_row()
    if change == "duplicate":
        bad["numero_afiliacion"] = first["numero_afiliacion"]
    elif change == "existing_curp":
        bad["curp"] = existing["curp"]
    else:
        bad.update(change)

    result = affiliates_sync(
        source=CsvSource(affiliates_path=write_csv(tmp_path / "f.csv", [first, bad, last]))
    )

    [rejection] = result.as_json()["rejected"]
    assert rejection["row"] == 3
    assert phrase in rejection["reason"]
    assert result.created == 2
    assert (
        Affiliate.objects.filter(
            number__in=[first["numero_afiliacion"], last["numero_afiliacion"]]
        ).count()
        == 2
    )
    assert _affiliate_fields(existing["numero_afiliacion"]) == existing_before


def test_affiliates_file_rejects_a_row_with_the_wrong_column_count(tmp_path):
    existing = _existing_affiliate(tmp_path)
    existing_before = _affiliate_fields(existing["numero_afiliacion"])
    good, short = affiliate_row(), affiliate_row()
    path = write_csv(tmp_path / "f.csv", [good])
    with path.open("a", encoding="utf-8") as handle:
        handle.write(",".join(list(short.values())[:-3]) + "\n")

    result = affiliates_sync(source=CsvSource(affiliates_path=path))

    assert result.as_json()["rejected"] == [
        {"row": 3, "reason": "la fila tiene 15 columnas y el encabezado 18"}
    ]
    assert Affiliate.objects.filter(number=good["numero_afiliacion"]).exists()
    assert _affiliate_fields(existing["numero_afiliacion"]) == existing_before


def test_affiliates_file_not_in_utf8_is_refused_whole_and_nothing_changes(tmp_path):
    existing = _existing_affiliate(tmp_path)
    existing_before = _affiliate_fields(existing["numero_afiliacion"])
    changed = {**existing, "nombre": "Peña", "municipio": "Pénjamo"}
    path = write_csv(tmp_path / "latin1.csv", [changed, affiliate_row()], encoding="latin-1")

    with pytest.raises(CommandError) as error:
        call_command("sync_affiliates", "--csv", str(path), stdout=StringIO(), stderr=StringIO())

    assert "no está codificado en UTF-8" in str(error.value)
    assert _affiliate_fields(existing["numero_afiliacion"]) == existing_before
    assert Affiliate.objects.count() == 1


# === 9. The survey answer page ===================================================================

SURVEY_CASES = {
    "scale_above": ({"firma_facilidad": "6"}, "Elige un número del 1 al 5."),
    "scale_below": ({"firma_facilidad": "0"}, "Elige un número del 1 al 5."),
    "scale_negative": ({"firma_facilidad": "-1"}, "Elige un número del 1 al 5."),
    "scale_fraction": ({"firma_facilidad": "4.5"}, "Elige un número del 1 al 5."),
    "scale_huge": ({"firma_facilidad": "9" * 5000}, "Elige un número del 1 al 5."),
    "scale_markup": ({"firma_facilidad": "<script>alert(1)</script>"}, "Elige un número"),
    "yes_no_other": ({"firma_oficina": "tal vez"}, "Elige sí o no."),
    "required_missing": ({"firma_facilidad": ""}, "Elige una respuesta."),
}


@pytest.mark.parametrize(("data", "phrase"), SURVEY_CASES.values(), ids=SURVEY_CASES.keys())
def test_survey_answer_refuses(data, phrase, applicant, product):
    signed = signed_for(applicant, product)
    invitation = invitation_of(signed)
    before = saved_state(signed)

    response = Client().post(
        answer_url(invitation), {"firma_facilidad": "5", "firma_oficina": "1", **data}
    )

    assert response.status_code == 400
    assert "Revisa las respuestas marcadas" in page_text(response)
    assert phrase in page_text(response)
    assert "<script>alert(1)</script>" not in response.content.decode()
    assert not Response.objects.exists()
    invitation.refresh_from_db()
    assert invitation.answered_at is None
    assert saved_state(signed) == before


# === 10. Names with markup, shown in pages and in the contract ===================================


@pytest.fixture
def hostile(applicant, product):
    """The applicant's affiliate, user and product carry markup in their names."""
    affiliate = applicant.affiliate
    affiliate.given_names = inputs.HOSTILE_GIVEN_NAMES
    affiliate.first_surname = inputs.HOSTILE_SURNAME
    affiliate.second_surname = ""
    affiliate.save()
    product.name = '<img src=x onerror=alert(2)> Préstamo & "Cía"'
    product.save()
    return complete_draft_for(applicant, product)


ESCAPED_NAME = "&lt;script&gt;alert(1)&lt;/script&gt; O&#x27;Brien &amp; &quot;Hijos&quot;"
ESCAPED_PRODUCT = "&lt;img src=x onerror=alert(2)&gt; Préstamo &amp; &quot;Cía&quot;"

NAME_PAGES = {
    "my_affiliation": (lambda app: reverse("affiliates:my_affiliation"), "applicant", ESCAPED_NAME),
    "my_applications": (
        lambda app: reverse("loans:application_list"),
        "applicant",
        ESCAPED_PRODUCT,
    ),
    "application_page": (
        lambda app: reverse("loans:application_detail", args=[app.public_id]),
        "applicant",
        ESCAPED_NAME,
    ),
    "wizard_step_2": (
        lambda app: reverse("loans:application_step", args=[app.public_id, 2]),
        "applicant",
        ESCAPED_NAME,
    ),
    "admin_application_change": (
        lambda app: reverse("admin:loans_loanapplication_change", args=[app.pk]),
        "staff",
        ESCAPED_NAME,
    ),
    "admin_affiliate_change": (
        lambda app: reverse("admin:affiliates_affiliate_change", args=[app.affiliate_id]),
        "staff",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ),
    "admin_application_list": (
        lambda app: reverse("admin:loans_loanapplication_changelist"),
        "staff",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ),
}


@pytest.mark.parametrize(("url", "persona", "escaped"), NAME_PAGES.values(), ids=NAME_PAGES.keys())
def test_names_with_markup_are_shown_escaped(url, persona, escaped, hostile, request):
    client = request.getfixturevalue(persona)

    response = client.get(url(hostile))

    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert(1)" not in html
    assert "<img src=x" not in html
    assert escaped in html


def test_names_with_markup_are_printed_literally_in_the_contract(hostile, applicant):
    response = applicant.get(reverse("loans:contract_preview", args=[hostile.public_id]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(BytesIO(response.content))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    # The literal characters, as typed: nothing was interpreted as markup nor double-escaped.
    assert inputs.HOSTILE_NAME.upper() in text.upper()
    assert "&lt;" not in text
    assert "&amp;" not in text
    assert "&#x27;" not in text
    assert "&quot;" not in text
    # The contract's PDF carries no script of its own.
    assert b"/JavaScript" not in response.content
    assert b"/JS" not in response.content


def test_amounts_in_pesos_are_stored_as_typed(applicant, product):
    """The control case of the start table: a well-written amount does start a draft."""
    response = applicant.post(
        reverse("loans:application_start"),
        {"product": "PC", "amount": "$60,000.00", "quincenas": "48"},
    )
    assert response.status_code == 302
    assert LoanApplication.objects.get().amount == Decimal("60000.00")
