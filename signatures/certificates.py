"""Reading X.509 certificates as the SAT issues them (e.firma, CSD): who the holder is.

This module only reads: it neither builds chains nor checks revocation (the trust store does);
it knows nothing about models, so the browser flow, the admin and the validation report can
share it. SAT-style names need ``signatures.asn1_compat``, installed when Django starts.
"""

import datetime
from dataclasses import dataclass

from asn1crypto import keys, pem, x509
from django.utils.translation import gettext as _

# SAT puts one or two values in these attributes, separated by a slash: the holder's and, for a
# legal entity, its legal representative's ("AAA010101AAA / HEGT7610034S2").
_PAIR_SEPARATOR = "/"
_CURP_LENGTH = 18


class CertificateUnreadable(ValueError):
    """The bytes are not a certificate we can read; the message is for the applicant."""


@dataclass(frozen=True)
class SubjectIdentity:
    name: str
    curp: str
    rfc: str
    serial: str
    issuer: str
    not_before: datetime.datetime
    not_after: datetime.datetime


def load_certificate(data: bytes) -> x509.Certificate:
    """Parse a certificate given as DER (the SAT's .cer) or PEM."""
    if not data or not data.strip():
        raise CertificateUnreadable(_("El archivo del certificado está vacío."))
    if pem.detect(data):
        data = _unarmor_certificate(data)
    elif _looks_like_encrypted_private_key(data):
        # The most common mix-up: e.firma holders get a .cer and a .key side by side.
        raise CertificateUnreadable(
            _("El archivo es una llave privada (.key); selecciona el certificado (.cer).")
        )
    try:
        certificate = x509.Certificate.load(data, strict=True)
        _parse_fields_we_use(certificate)
    except Exception as error:
        # Untrusted bytes can make asn1crypto raise ValueError, TypeError, KeyError and more;
        # to the applicant they all mean the same thing.
        raise _unreadable() from error
    return certificate


def subject_identity(certificate: x509.Certificate) -> SubjectIdentity:
    """Who the certificate was issued to, as the SAT writes it, and who issued it."""
    subject = certificate.subject.native
    issuer = certificate.issuer.native
    return SubjectIdentity(
        name=_first_text(subject.get("common_name"))
        or _first_text(subject.get("name"))
        or _first_text(subject.get("organization_name")),
        curp=_curp_from(_first_text(subject.get("serial_number"))),
        rfc=_rfc_from(_first_text(subject.get("unique_identifier"))),
        serial=format(certificate.serial_number, "x"),
        issuer=_first_text(issuer.get("common_name")) or certificate.issuer.human_friendly,
        not_before=certificate.not_valid_before,
        not_after=certificate.not_valid_after,
    )


def _parse_fields_we_use(certificate: x509.Certificate) -> tuple[object, ...]:
    # asn1crypto parses lazily: touch every field we rely on so that garbage fails while
    # loading, with our message, and not later in whoever reads the certificate.
    return (
        certificate.serial_number,
        certificate.subject.native,
        certificate.issuer.native,
        certificate.not_valid_before,
        certificate.not_valid_after,
        certificate.public_key.native,
        certificate["signature_value"].native,
    )


def _unreadable() -> CertificateUnreadable:
    return CertificateUnreadable(
        _(
            "No se pudo leer el certificado. Selecciona el archivo .cer de tu e.firma "
            "(formato DER o PEM)."
        )
    )


def _unarmor_certificate(data: bytes) -> bytes:
    try:
        type_name, _headers, der = pem.unarmor(data)
    except Exception as error:
        raise _unreadable() from error
    if "PRIVATE KEY" in type_name:
        raise CertificateUnreadable(
            _("El archivo es una llave privada (.key); selecciona el certificado (.cer).")
        )
    if type_name not in {"CERTIFICATE", "X509 CERTIFICATE"}:
        raise _unreadable()
    return der


def _looks_like_encrypted_private_key(data: bytes) -> bool:
    try:
        key = keys.EncryptedPrivateKeyInfo.load(data, strict=True)
        # Forces the lazy parse of both fields.
        return bool(key["encryption_algorithm"].native and key["encrypted_data"].native)
    except Exception:
        return False


def _first_text(value: object) -> str:
    # A repeated attribute comes back as a list; the standard BIT STRING form of
    # x500UniqueIdentifier comes back as bytes, which carries no RFC we could read.
    if isinstance(value, list):
        value = value[0] if value else ""
    return value if isinstance(value, str) else ""


def _rfc_from(unique_identifier: str) -> str:
    holder = unique_identifier.split(_PAIR_SEPARATOR)[0]
    return "".join(holder.split()).upper()


def _curp_from(serial_number: str) -> str:
    parts = ["".join(part.split()).upper() for part in serial_number.split(_PAIR_SEPARATOR)]
    curps = [part for part in parts if len(part) == _CURP_LENGTH]
    return curps[-1] if curps else ""
