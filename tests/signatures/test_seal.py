"""The institute's seal on a contract the applicant signed, against the demo PKI over HTTP."""

import hashlib
import os
import shutil
import subprocess
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from pyhanko.sign import signers

from demo.pki.authority import DEMO_SEAL_PASSWORD
from demo.pki.server import free_port
from signatures.models import SignedDocument
from signatures.pades import ServiceUnavailable
from signatures.seal import (
    AlreadySealed,
    SealUnavailable,
    SourceAltered,
    has_signature_field,
    seal_pdf,
)
from signatures.selectors import document_by_token
from signatures.validation import validate_pdf
from tests.signatures.sealing import SEAL_FIELD, SEAL_KIND, seal_document


def seal_bytes(content: bytes) -> bytes:
    return seal_pdf(
        content, field_name=SEAL_FIELD, reason="Contrato autorizado", location="Guanajuato, Gto."
    )


def test_the_sealed_contract_is_b_lta_and_keeps_the_applicants_signature(signed_contract, seal):
    # Given a contract the applicant signed
    original = signed_contract.file.read()

    # When the institute seals it
    sealed = seal_bytes(original)

    # Then the seal is an incremental update: the signed bytes are untouched...
    assert sealed.startswith(original)
    report = validate_pdf(sealed)
    assert report.ok
    applicant_signature, institute_seal = report.signatures
    # ...the applicant's signature is still good, changed after only by what is allowed...
    assert applicant_signature.field == "FirmaSolicitante"
    assert applicant_signature.curp == signed_contract.signer_curp
    assert applicant_signature.intact
    assert applicant_signature.valid
    assert applicant_signature.trusted
    assert applicant_signature.bottom_line
    assert applicant_signature.modification_level in {"FORM_FILLING", "LTA_UPDATES"}
    assert applicant_signature.level in {"B-LT", "B-LTA"}
    # ...and the seal is the institute's, time-stamped, with its validation data and a
    # document time-stamp over everything.
    assert institute_seal.field == SEAL_FIELD
    assert institute_seal.signer_name == "Sello electrónico institucional ISSEG (DEMO)"
    assert institute_seal.trusted
    assert institute_seal.bottom_line
    assert institute_seal.timestamp is not None
    assert institute_seal.level == "B-LTA"
    [document_timestamp] = report.document_timestamps
    assert document_timestamp.field == f"{SEAL_FIELD}SelloDeTiempo"
    assert document_timestamp.bottom_line


def test_pdfsig_from_poppler_says_both_signatures_are_valid(signed_contract, seal, tmp_path):
    pdfsig = shutil.which("pdfsig")
    assert pdfsig, "poppler-utils (pdfsig) is installed by bin/system-packages"
    path = tmp_path / "sellado.pdf"
    path.write_bytes(seal_bytes(signed_contract.file.read()))

    output = subprocess.run(  # noqa: S603 - our own file, Debian's pdfsig
        [pdfsig, str(path)], capture_output=True, text=True, check=False
    ).stdout

    # The third entry is the document time-stamp, which pdfsig does not verify.
    applicant, institute, _document_timestamp = output.split("Signature #")[1:]
    assert "Field Name: FirmaSolicitante" in applicant, output
    assert "Signature is Valid." in applicant, output
    assert f"Field Name: {SEAL_FIELD}" in institute, output
    assert "Signature is Valid." in institute, output


def test_a_field_already_signed_is_not_signed_again(signed_contract, seal):
    original = signed_contract.file.read()
    assert not has_signature_field(original, SEAL_FIELD)
    assert has_signature_field(original, "FirmaSolicitante")

    sealed = seal_bytes(original)

    assert has_signature_field(sealed, SEAL_FIELD)
    with pytest.raises(AlreadySealed):
        seal_bytes(sealed)


def test_document_seal_records_a_new_version_once(signed_contract, seal):
    # When the seal task runs twice
    sealed = seal_document(signed_contract)
    again = seal_document(signed_contract)

    # Then there is one sealed document, a new version of the signed one under its token
    assert again == sealed
    assert SignedDocument.objects.count() == 2
    assert sealed.kind == SEAL_KIND
    assert sealed.reference == signed_contract.reference
    assert sealed.supersedes == signed_contract
    assert sealed.verification_token == signed_contract.verification_token
    assert sealed.signed_by is None
    assert sealed.signer_name == "Sello electrónico institucional ISSEG (DEMO)"
    content = sealed.file.read()
    assert hashlib.sha256(content).hexdigest() == sealed.sha256
    assert len(content) == sealed.size
    assert validate_pdf(content).ok
    # The printed QR code now leads to the sealed version.
    assert document_by_token(token=signed_contract.verification_token) == sealed


def test_time_stamp_service_down_seals_nothing_and_a_retry_completes(signed_contract, seal):
    with (
        override_settings(SIGNATURES_TSA_URL=f"http://127.0.0.1:{free_port()}/tsa"),
        pytest.raises(ServiceUnavailable),
    ):
        seal_document(signed_contract)
    assert list(SignedDocument.objects.all()) == [signed_contract]
    assert document_by_token(token=signed_contract.verification_token) == signed_contract

    # When the TSA is back
    sealed = seal_document(signed_contract)

    assert sealed.supersedes == signed_contract
    assert validate_pdf(sealed.file.read()).ok


def test_a_missing_seal_file_is_a_clear_configuration_error(signed_contract, settings, tmp_path):
    settings.SIGNATURES_SEAL_PKCS12 = tmp_path / "no-existe.p12"

    with pytest.raises(SealUnavailable) as error:
        seal_document(signed_contract)

    assert "No se encuentra el archivo del sello institucional" in str(error.value)
    assert "SIGNATURES_SEAL_PKCS12" in str(error.value)
    assert list(SignedDocument.objects.all()) == [signed_contract]


def test_a_wrong_seal_password_is_a_clear_configuration_error(signed_contract, seal, settings):
    settings.SIGNATURES_SEAL_PASSWORD = "otra"

    with pytest.raises(SealUnavailable) as error:
        seal_document(signed_contract)

    assert "SIGNATURES_SEAL_PASSWORD" in str(error.value)
    assert list(SignedDocument.objects.all()) == [signed_contract]


def test_a_stored_file_changed_since_it_was_recorded_is_not_sealed(signed_contract, seal):
    path = signed_contract.file.path
    os.chmod(path, 0o640)
    with open(path, "ab") as handle:
        handle.write(b"%% appended\n")

    with pytest.raises(SourceAltered):
        seal_document(signed_contract)

    assert list(SignedDocument.objects.all()) == [signed_contract]


def test_demo_pki_setup_exports_the_seal_with_the_default_password(settings, tmp_path):
    settings.DEMO_PKI_DIR = tmp_path / "demo_pki"

    output = StringIO()
    call_command("demo_pki", "setup", stdout=output)

    path = settings.DEMO_PKI_DIR / "seal.p12"
    assert str(path) in output.getvalue()
    signer = signers.SimpleSigner.load_pkcs12(path, passphrase=DEMO_SEAL_PASSWORD.encode())
    assert signer is not None
    common_name = signer.signing_cert.subject.native["common_name"]
    assert common_name == "Sello electrónico institucional ISSEG (DEMO)"
    # A second run keeps the file.
    written = path.stat().st_mtime_ns
    call_command("demo_pki", "setup", stdout=StringIO())
    assert path.stat().st_mtime_ns == written


@pytest.mark.skipif("SIGNATURES_SEAL_PASSWORD" in os.environ, reason="set by the environment")
def test_the_default_seal_password_is_the_one_demo_pki_setup_writes():
    # settings.py repeats the constant rather than import the demo PKI's module.
    from django.conf import settings

    assert settings.SIGNATURES_SEAL_PASSWORD == DEMO_SEAL_PASSWORD
