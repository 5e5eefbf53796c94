"""Reading SAT-issued certificates: identity of the holder, tolerance of SAT's encoding."""

import datetime
from pathlib import Path

import pytest
from asn1crypto import core, pem, x509
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_private_key,
)
from pyhanko_certvalidator import CertificateValidator, ValidationContext

from signatures import asn1_compat
from signatures.certificates import CertificateUnreadable, load_certificate, subject_identity

SAT = Path(__file__).resolve().parent.parent / "fixtures" / "sat"
FIEL = SAT / "FIEL_AAA010101AAA"
CSD = SAT / "CSD01_AAA010101AAA"
UTC = datetime.UTC


def test_fiel_certificate_gives_the_holder_identity():
    # given the SAT's test e.firma certificate, DER as the SAT hands it out
    data = (FIEL / "certificate.cer").read_bytes()

    # when we read who it belongs to
    identity = subject_identity(load_certificate(data))

    # then RFC and CURP come out of SAT's "holder / representative" pairs
    assert identity.name == "ACCEM SERVICIOS EMPRESARIALES SC"
    assert identity.rfc == "AAA010101AAA"
    assert identity.curp == "HEGT761003MDFRNN09"
    assert identity.serial == "3330303031303030303030333030303233363835"
    assert identity.issuer == "A.C. 2 de pruebas(4096)"
    assert identity.not_before == datetime.datetime(2017, 5, 16, 23, 29, 17, tzinfo=UTC)
    assert identity.not_after == datetime.datetime(2021, 5, 15, 23, 29, 17, tzinfo=UTC)


def test_csd_certificate_gives_the_same_taxpayer():
    # given the SAT's test CSD, whose serialNumber also holds " / HEGT761003MDFRNN09"
    data = (CSD / "certificate.cer").read_bytes()

    # when
    identity = subject_identity(load_certificate(data))

    # then
    assert identity.rfc == "AAA010101AAA"
    assert identity.curp == "HEGT761003MDFRNN09"
    assert identity.serial == "3330303031303030303030333030303233373038"
    assert identity.not_after == datetime.datetime(2021, 5, 18, 3, 54, 56, tzinfo=UTC)


def test_pem_certificate_gives_the_same_identity_as_der():
    # given the e.firma certificate armored as PEM
    der = (FIEL / "certificate.cer").read_bytes()
    armored = pem.armor("CERTIFICATE", der)

    # when
    from_pem = subject_identity(load_certificate(armored))

    # then
    assert from_pem == subject_identity(load_certificate(der))


def test_sat_names_read_without_error():
    # given a freshly parsed SAT certificate (x500UniqueIdentifier as PrintableString)
    certificate = load_certificate((FIEL / "certificate.cer").read_bytes())

    # when we read its names as pyHanko and the validator do
    subject = certificate.subject.native
    friendly = certificate.subject.human_friendly

    # then the RFC pair is readable text
    assert subject["unique_identifier"] == "AAA010101AAA / HEGT7610034S2"
    assert "Unique Identifier: AAA010101AAA / HEGT7610034S2" in friendly
    assert certificate.subject.hashable
    assert certificate.issuer.native["unique_identifier"] == "SAT970701NN3"


def test_certificate_validator_accepts_a_sat_certificate_as_input():
    # given a SAT certificate and an empty, offline trust context (the trust store comes later)
    certificate = load_certificate((FIEL / "certificate.cer").read_bytes())
    context = ValidationContext(trust_roots=[], allow_fetching=False)

    # when
    validator = CertificateValidator(certificate, validation_context=context)

    # then it was built around our certificate (validation itself is not this piece's job)
    assert validator is not None


def test_without_compat_sat_names_do_not_parse(monkeypatch):
    # given asn1crypto's stock spec for x500UniqueIdentifier (issue 228)
    monkeypatch.setitem(x509.NameTypeAndValue._oid_specs, "unique_identifier", core.OctetBitString)
    certificate = x509.Certificate.load((FIEL / "certificate.cer").read_bytes())

    # when / then reading the subject fails: this is what asn1_compat exists for
    with pytest.raises(ValueError, match="tag should have been 3"):
        _ = certificate.subject.native


def test_compat_is_installed_once_and_is_idempotent():
    # given the app has started (SignaturesConfig.ready installed it)
    assert asn1_compat.is_installed()

    # when installing again
    asn1_compat.install()
    asn1_compat.install()

    # then the spec is still ours and certificates still read
    assert asn1_compat.is_installed()
    assert subject_identity(load_certificate((CSD / "certificate.cer").read_bytes())).rfc


def test_certificate_bytes_are_kept_as_issued():
    # given the DER the SAT issued
    der = (FIEL / "certificate.cer").read_bytes()

    # when it is read (names decoded through the compat spec) and dumped again
    certificate = load_certificate(der)
    _ = certificate.subject.native

    # then the bytes are unchanged, so signatures over them still verify
    assert certificate.dump() == der


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "vacío", id="empty"),
        pytest.param(b"  \n", "vacío", id="blank"),
        pytest.param(bytes(range(256)) * 4, "No se pudo leer el certificado", id="random-bytes"),
        pytest.param(
            "Contraseña de mi e.firma: está en otro archivo.\n".encode(),
            "No se pudo leer el certificado",
            id="text-file",
        ),
        pytest.param(
            b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n",
            "No se pudo leer el certificado",
            id="pdf",
        ),
        pytest.param(
            (FIEL / "certificate.cer").read_bytes()[:700],
            "No se pudo leer el certificado",
            id="truncated-der",
        ),
        pytest.param(
            (FIEL / "private_key.key").read_bytes(), "llave privada", id="private-key-der"
        ),
        pytest.param(
            pem.armor("ENCRYPTED PRIVATE KEY", (FIEL / "private_key.key").read_bytes()),
            "llave privada",
            id="private-key-pem",
        ),
        pytest.param(
            b"-----BEGIN CERTIFICATE-----\nno es base64\n",
            "No se pudo leer el certificado",
            id="broken-pem",
        ),
    ],
)
def test_unreadable_input_is_refused_in_spanish(data, message):
    # given bytes that are not a certificate
    # when / then
    with pytest.raises(CertificateUnreadable, match=message):
        load_certificate(data)


def test_fiel_private_key_decrypts_and_matches_its_certificate():
    # given the e.firma's encrypted PKCS#8 key and its password
    key_der = (FIEL / "private_key.key").read_bytes()
    password = (FIEL / "password.txt").read_bytes().strip()
    certificate = load_certificate((FIEL / "certificate.cer").read_bytes())

    # when the key is decrypted
    private_key = load_der_private_key(key_der, password)

    # then its public half is the certificate's public key
    public_der = private_key.public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )
    assert public_der == certificate.public_key.dump()
