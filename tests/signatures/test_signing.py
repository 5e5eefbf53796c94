"""Signing a contract through the JSON API, against the demo PKI served over HTTP.

The client signs as signing.js does (tests/signatures/signing_api.py).
"""

import base64
import hashlib
import json
import shutil
import subprocess
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from demo.pki.server import free_port
from loans.models import ApplicationStatus
from signatures.models import SignedDocument, SigningSession
from signatures.validation import validate_pdf
from tests.builders import draft_for
from tests.signatures.signing_api import certificate_upload, finish, prepare, sign


def test_the_applicant_signs_and_gets_a_b_lt_contract(applicant, complete_draft, demo_credentials):
    prepared, finished = sign(applicant, complete_draft, demo_credentials)

    assert prepared["digest_algorithm"] == "sha256"
    assert prepared["signature_algorithm"] == "rsassa_pkcs1v15"
    assert finished.status_code == 200, finished.json()
    body = finished.json()
    assert body["status"] == "signed"

    complete_draft.refresh_from_db()
    assert complete_draft.status == ApplicationStatus.SIGNED
    document = SignedDocument.objects.get(reference=complete_draft.folio)
    content = document.file.read()
    assert hashlib.sha256(content).hexdigest() == body["sha256"] == document.sha256
    assert (document.signer_curp, document.signer_rfc) == (
        applicant.affiliate.curp,
        applicant.affiliate.rfc,
    )
    event = complete_draft.events.order_by("sequence").last()
    assert event.to_status == ApplicationStatus.SIGNED
    assert document.sha256 in event.reason
    call_command("verify_audit")  # raises when the chain of events is broken

    report = validate_pdf(content)
    assert report.ok
    [signature] = report.signatures
    assert signature.level == "B-LT"
    assert signature.curp == applicant.affiliate.curp
    assert signature.timestamp is not None

    download = applicant.get(body["document_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    assert "firmado.pdf" in download["Content-Disposition"]


def test_pdfsig_from_poppler_says_the_signature_is_valid(
    applicant, complete_draft, demo_credentials, tmp_path
):
    pdfsig = shutil.which("pdfsig")
    assert pdfsig, "poppler-utils (pdfsig) is installed by bin/system-packages"
    sign(applicant, complete_draft, demo_credentials)
    path = tmp_path / "firmado.pdf"
    path.write_bytes(SignedDocument.objects.get(reference=complete_draft.folio).file.read())
    output = subprocess.run(  # noqa: S603 - our own file, Debian's pdfsig
        [pdfsig, str(path)], capture_output=True, text=True, check=False
    )
    assert "Signature is Valid." in output.stdout, output.stdout


def test_verify_pdf_command_reports_the_signed_contract(
    applicant, complete_draft, demo_credentials, tmp_path, capsys
):
    sign(applicant, complete_draft, demo_credentials)
    path = tmp_path / "firmado.pdf"
    path.write_bytes(SignedDocument.objects.get(reference=complete_draft.folio).file.read())
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_pdf", str(path), "--json")
    report = json.loads(capsys.readouterr().out)
    assert exit_info.value.code == 0
    assert report["ok"] is True
    assert report["document_timestamps"] == []
    [signature] = report["signatures"]
    assert set(signature) == {
        "field",
        "signer_name",
        "curp",
        "rfc",
        "intact",
        "valid",
        "trusted",
        "revoked",
        "bottom_line",
        "signing_time",
        "timestamp",
        "level",
        "modification_level",
        "coverage",
        "timestamp_authority",
        "checked_at_signing",
    }
    assert signature["field"] == "FirmaSolicitante"
    assert signature["level"] == "B-LT"
    # Judged on the validation data the file carries, as of its time-stamp, by the demo TSA.
    assert signature["checked_at_signing"] is True
    assert signature["timestamp_authority"]
    assert signature["timestamp_authority"] != signature["signer_name"]


def signed_pdf(applicant, complete_draft, demo_credentials) -> bytes:
    sign(applicant, complete_draft, demo_credentials)
    return SignedDocument.objects.get(reference=complete_draft.folio).file.read()


def test_one_changed_byte_in_the_signed_content_is_reported(
    applicant, complete_draft, demo_credentials
):
    content = bytearray(signed_pdf(applicant, complete_draft, demo_credentials))
    # A byte inside the first page's content, which the signature covers.
    position = content.index(b"stream", 400) + 40
    content[position] ^= 0x01
    report = validate_pdf(bytes(content))
    assert not report.ok
    assert not report.signatures[0].intact


def test_an_incremental_update_that_replaces_a_page_is_reported(
    applicant, complete_draft, demo_credentials
):
    from io import BytesIO

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    content = signed_pdf(applicant, complete_draft, demo_credentials)
    writer = IncrementalPdfFileWriter(BytesIO(content))
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    forged = generic.StreamObject(stream_data=b"BT /F1 24 Tf 72 700 Td (Monto: $1.00) Tj ET")
    page["/Contents"] = writer.add_object(forged)
    writer.update_container(page)
    output = BytesIO()
    writer.write(output)

    report = validate_pdf(output.getvalue())
    assert not report.ok
    assert report.signatures[0].intact  # the signed revision is still intact...
    assert report.signatures[0].modification_level == "OTHER"  # ...but it was changed after


def test_a_signature_value_that_does_not_verify_is_refused(
    applicant, complete_draft, demo_credentials
):
    body = prepare(applicant, complete_draft, demo_credentials.certificate).json()
    signature = demo_credentials.sign(b"something else entirely")
    response = finish(applicant, complete_draft, body["session"], signature)
    assert response.status_code == 400
    assert response.json()["error"] == "signature_invalid"
    complete_draft.refresh_from_db()
    assert complete_draft.status == ApplicationStatus.DRAFT
    assert not SignedDocument.objects.exists()
    # The session is spent: the same answer again gets "session expired".
    retry = finish(applicant, complete_draft, body["session"], signature)
    assert retry.json()["error"] == "session_expired"


def test_garbage_instead_of_a_signature(applicant, complete_draft, demo_credentials):
    body = prepare(applicant, complete_draft, demo_credentials.certificate).json()
    url = reverse("loans:sign_finish", args=[complete_draft.public_id])
    response = applicant.post(url, {"session": body["session"], "signature": "%%%"})
    assert response.status_code == 400
    assert response.json()["error"] == "signature_invalid"


def test_a_session_is_single_use(applicant, complete_draft, demo_credentials):
    body, finished = sign(applicant, complete_draft, demo_credentials)
    assert finished.status_code == 200
    signature = demo_credentials.sign(base64.b64decode(body["signed_attributes"]))
    again = finish(applicant, complete_draft, body["session"], signature)
    assert again.status_code == 400
    assert again.json()["error"] == "session_expired"
    assert SignedDocument.objects.count() == 1


def test_an_expired_session_is_refused_and_the_draft_can_still_be_signed(
    applicant, complete_draft, demo_credentials
):
    body = prepare(applicant, complete_draft, demo_credentials.certificate).json()
    SigningSession.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    signature = demo_credentials.sign(base64.b64decode(body["signed_attributes"]))
    response = finish(applicant, complete_draft, body["session"], signature)
    assert response.status_code == 400
    assert response.json()["error"] == "session_expired"
    assert "venció" in response.json()["message"]

    _body, finished = sign(applicant, complete_draft, demo_credentials)
    assert finished.status_code == 200


def test_an_unknown_session_is_refused(applicant, complete_draft):
    response = finish(applicant, complete_draft, "no-such-session", b"\x01" * 256)
    assert response.status_code == 400
    assert response.json()["error"] == "session_expired"


def test_time_stamp_service_down_is_a_clear_503_and_nothing_is_lost(
    applicant, complete_draft, demo_credentials
):
    body = prepare(applicant, complete_draft, demo_credentials.certificate).json()
    signature = demo_credentials.sign(base64.b64decode(body["signed_attributes"]))
    with override_settings(SIGNATURES_TSA_URL=f"http://127.0.0.1:{free_port()}/tsa"):
        response = finish(applicant, complete_draft, body["session"], signature)
    assert response.status_code == 503
    assert response.json()["error"] == "service_unavailable"
    assert "no se perdió nada" in response.json()["message"]
    complete_draft.refresh_from_db()
    assert complete_draft.status == ApplicationStatus.DRAFT

    # When the TSA is back, the same session (not spent) finishes the signature.
    retry = finish(applicant, complete_draft, body["session"], signature)
    assert retry.status_code == 200, retry.json()


@pytest.mark.parametrize(
    ("certificate", "error", "status"),
    [(b"", "certificate_missing", 400), (b"garbage", "certificate_unreadable", 400)],
)
def test_prepare_without_a_certificate(
    applicant, complete_draft, demo_pki, certificate, error, status
):
    url = reverse("loans:sign_prepare", args=[complete_draft.public_id])
    data = {"certificate": certificate_upload(certificate)} if certificate else {}
    response = applicant.post(url, data)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["message"]


def test_a_certificate_of_somebody_else_is_refused_with_its_reasons(
    applicant, other_applicant, complete_draft, demo_pki, tmp_path
):
    other = other_applicant.affiliate
    issued = demo_pki.issue(curp=other.curp, rfc=other.rfc, name="OTRA", out_dir=tmp_path)
    response = prepare(applicant, complete_draft, issued.certificate_path.read_bytes())
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "certificate_refused"
    assert body["reasons"] == ["curp_mismatch", "rfc_mismatch"]
    assert "La CURP del certificado no es la tuya." in body["message"]


def test_an_incomplete_draft_cannot_be_signed(applicant, product, demo_credentials):
    incomplete = draft_for(applicant, product)
    response = prepare(applicant, incomplete, demo_credentials.certificate)
    assert response.status_code == 409
    assert response.json()["error"] == "not_signable"


def test_another_users_folio_is_a_404(other_applicant, complete_draft, demo_credentials):
    assert prepare(other_applicant, complete_draft, demo_credentials.certificate).status_code == 404
    assert finish(other_applicant, complete_draft, "x", b"\x01").status_code == 404
    url = reverse("loans:signed_contract", args=[complete_draft.public_id])
    assert other_applicant.get(url).status_code == 404


def test_anonymous_clients_get_a_json_401(anonymous, complete_draft):
    url = reverse("loans:sign_prepare", args=[complete_draft.public_id])
    response = anonymous.post(url)
    assert response.status_code == 401
    assert response.json()["error"] == "login_required"


def test_the_api_keeps_the_csrf_rules_of_the_pages(applicant, complete_draft, demo_credentials):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(applicant.user)
    url = reverse("loans:sign_prepare", args=[complete_draft.public_id])
    response = strict.post(url, {"certificate": certificate_upload(demo_credentials.certificate)})
    assert response.status_code == 403
    assert not SigningSession.objects.exists()


def test_get_is_not_allowed_on_the_api(applicant, complete_draft):
    assert (
        applicant.get(reverse("loans:sign_prepare", args=[complete_draft.public_id])).status_code
        == 405
    )


def test_the_signed_contract_prints_the_verification_code_of_its_record(
    applicant, complete_draft, demo_credentials
):
    from io import BytesIO

    from pypdf import PdfReader

    sign(applicant, complete_draft, demo_credentials)
    document = SignedDocument.objects.get(reference=complete_draft.folio)
    first_page = PdfReader(BytesIO(document.file.read())).pages[0].extract_text()
    assert f"/verificar/{document.verification_token}/" in first_page.replace("\n", "")


def test_an_application_cancelled_meanwhile_is_not_signed_and_nothing_is_recorded(
    applicant, complete_draft, demo_credentials
):
    from loans.services import application_cancel

    body = prepare(applicant, complete_draft, demo_credentials.certificate).json()
    application_cancel(application=complete_draft, actor=applicant.user, ip_address=None)
    signature = demo_credentials.sign(base64.b64decode(body["signed_attributes"]))
    response = finish(applicant, complete_draft, body["session"], signature)
    assert response.status_code == 409
    assert response.json()["error"] == "not_signable"
    assert not SignedDocument.objects.exists()
    complete_draft.refresh_from_db()
    assert complete_draft.status == ApplicationStatus.CANCELLED


def test_the_application_page_leads_to_signing_and_then_to_the_signed_pdf(
    applicant, complete_draft, demo_credentials
):
    detail = reverse("loans:application_detail", args=[complete_draft.public_id])
    sign_url = reverse("loans:sign", args=[complete_draft.public_id])
    download_url = reverse("loans:signed_contract", args=[complete_draft.public_id])
    before = applicant.get(detail).content.decode()
    assert sign_url in before
    assert download_url not in before

    sign(applicant, complete_draft, demo_credentials)

    after = applicant.get(detail).content.decode()
    assert sign_url not in after
    assert download_url in after


def test_expired_signing_sessions_are_purged_a_day_later(
    applicant, complete_draft, demo_credentials
):
    from django_q.models import Schedule

    from signatures.tasks import signing_sessions_purge

    prepare(applicant, complete_draft, demo_credentials.certificate)
    prepare(applicant, complete_draft, demo_credentials.certificate)
    old, recent = SigningSession.objects.order_by("pk")
    SigningSession.objects.filter(pk=old.pk).update(
        expires_at=timezone.now() - timedelta(days=1, minutes=1)
    )
    SigningSession.objects.filter(pk=recent.pk).update(
        expires_at=timezone.now() - timedelta(hours=23)
    )

    assert signing_sessions_purge() == 1
    assert list(SigningSession.objects.values_list("pk", flat=True)) == [recent.pk]
    assert signing_sessions_purge() == 0
    assert Schedule.objects.filter(func="signatures.tasks.signing_sessions_purge").exists()


def test_a_returned_application_is_corrected_and_signed_again(
    applicant, complete_draft, demo_credentials, analyst
):
    from loans.services import (
        application_complete,
        application_return,
        application_take_for_review,
    )

    sign(applicant, complete_draft, demo_credentials)
    application_take_for_review(application=complete_draft, actor=analyst.user, ip_address=None)
    application_return(
        application=complete_draft,
        actor=analyst.user,
        reason="Falta el comprobante de domicilio legible.",
        ip_address=None,
    )
    complete_draft.refresh_from_db()
    assert complete_draft.status == ApplicationStatus.RETURNED
    assert complete_draft.completed_at is None

    detail = applicant.get(reverse("loans:application_detail", args=[complete_draft.public_id]))
    assert "Corregir mi solicitud" in detail.content.decode()
    # The steps can be saved again, and the review confirmed again...
    step_2 = reverse("loans:application_step", args=[complete_draft.public_id, 2])
    response = applicant.post(step_2, {"phone": "4737654321", "email": "ana@example.org"})
    assert response.status_code == 302
    application_complete(application=complete_draft, privacy_accepted=True, terms_accepted=True)
    # ...and the contract is signed again: a second signed PDF, the first one kept.
    _body, finished = sign(applicant, complete_draft, demo_credentials)
    assert finished.status_code == 200, finished.json()
    complete_draft.refresh_from_db()
    assert complete_draft.status == ApplicationStatus.SIGNED
    assert SignedDocument.objects.filter(reference=complete_draft.folio).count() == 2
    assert (
        complete_draft.events.order_by("sequence").last().from_status == ApplicationStatus.RETURNED
    )


def test_a_session_prepared_on_another_day_is_refused(applicant, complete_draft, demo_credentials):
    body = prepare(applicant, complete_draft, demo_credentials.certificate).json()
    yesterday = timezone.now() - timedelta(days=1)
    SigningSession.objects.update(created_at=yesterday)
    signature = demo_credentials.sign(base64.b64decode(body["signed_attributes"]))
    response = finish(applicant, complete_draft, body["session"], signature)
    assert response.status_code == 400
    assert response.json()["error"] == "session_expired"
    complete_draft.refresh_from_db()
    assert complete_draft.status == ApplicationStatus.DRAFT
