"""Is this certificate good enough to sign a loan contract for this affiliate?

`check_certificate` answers with every reason that applies (so the applicant learns all that is
wrong at once), as stable codes for programs and Spanish sentences for people:

- the certificate parses (DER or PEM), else ``unreadable`` and nothing more;
- its dates hold now (``expired``, ``not_yet_valid``);
- it may sign documents: nonRepudiation key usage (``wrong_key_usage``), not a CA
  (``ca_certificate``);
- its CURP and RFC are the affiliate's (``curp_mismatch``, ``rfc_mismatch``);
- it chains to a root of the trust store (``untrusted_chain``);
- nobody revoked it, and somebody said so: OCSP or CRL for the certificate and every
  intermediate, hard-fail (``revoked``, ``revocation_unavailable``).
"""

import asyncio
import datetime
from dataclasses import dataclass, field
from enum import StrEnum

from asn1crypto import x509
from django.utils.translation import gettext_lazy as _
from pyhanko_certvalidator import CertificateValidator
from pyhanko_certvalidator.errors import (
    InsufficientRevinfoError,
    PathBuildingError,
    PathValidationError,
    RevokedError,
    ValidationError,
)

from signatures.certificates import (
    CertificateUnreadable,
    SubjectIdentity,
    load_certificate,
    subject_identity,
)
from signatures.trust import validation_context


class Reason(StrEnum):
    UNREADABLE = "unreadable"
    UNTRUSTED_CHAIN = "untrusted_chain"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    REVOKED = "revoked"
    REVOCATION_UNAVAILABLE = "revocation_unavailable"
    WRONG_KEY_USAGE = "wrong_key_usage"
    CA_CERTIFICATE = "ca_certificate"
    CURP_MISMATCH = "curp_mismatch"
    RFC_MISMATCH = "rfc_mismatch"


REASON_MESSAGES = {
    Reason.UNREADABLE: _("El archivo no es un certificado legible (.cer de la e.firma)."),
    Reason.UNTRUSTED_CHAIN: _(
        "El certificado no fue emitido por una autoridad certificadora que el Instituto acepte."
    ),
    Reason.EXPIRED: _("El certificado está vencido; renueva tu e.firma."),
    Reason.NOT_YET_VALID: _("El certificado todavía no entra en vigor."),
    Reason.REVOKED: _("El certificado fue revocado por la autoridad que lo emitió."),
    Reason.REVOCATION_UNAVAILABLE: _(
        "No fue posible confirmar con la autoridad certificadora que el certificado siga "
        "vigente. Intenta más tarde; no se perdió nada."
    ),
    Reason.WRONG_KEY_USAGE: _(
        "El certificado no sirve para firmar documentos (no es de e.firma); usa el de tu "
        "e.firma, no el de sello digital."
    ),
    Reason.CA_CERTIFICATE: _(
        "Es el certificado de una autoridad certificadora, no el de una persona."
    ),
    Reason.CURP_MISMATCH: _("La CURP del certificado no es la tuya."),
    Reason.RFC_MISMATCH: _("El RFC del certificado no es el tuyo."),
}


@dataclass
class CertificateCheck:
    reasons: list[Reason] = field(default_factory=list)
    identity: SubjectIdentity | None = None
    certificate: x509.Certificate | None = None

    @property
    def accepted(self) -> bool:
        return self.certificate is not None and not self.reasons

    @property
    def messages(self) -> list[str]:
        return [str(REASON_MESSAGES[reason]) for reason in self.reasons]

    @property
    def only_transient(self) -> bool:
        """Refused only because a service did not answer: trying later may work."""
        return self.reasons == [Reason.REVOCATION_UNAVAILABLE]


def check_certificate(
    data: bytes,
    *,
    curp: str | None = None,
    rfc: str | None = None,
    moment: datetime.datetime | None = None,
) -> CertificateCheck:
    try:
        certificate = load_certificate(data)
    except CertificateUnreadable:
        return CertificateCheck(reasons=[Reason.UNREADABLE])
    identity = subject_identity(certificate)
    check = CertificateCheck(identity=identity, certificate=certificate)
    moment = moment or datetime.datetime.now(datetime.UTC)

    in_force = True
    if moment > certificate.not_valid_after:
        check.reasons.append(Reason.EXPIRED)
        in_force = False
    elif moment < certificate.not_valid_before:
        check.reasons.append(Reason.NOT_YET_VALID)
        in_force = False
    if "non_repudiation" not in (certificate.key_usage_value.native or set()):
        check.reasons.append(Reason.WRONG_KEY_USAGE)
    if certificate.ca:
        check.reasons.append(Reason.CA_CERTIFICATE)
    if curp is not None and identity.curp != curp.strip().upper():
        check.reasons.append(Reason.CURP_MISMATCH)
    if rfc is not None and identity.rfc != rfc.strip().upper():
        check.reasons.append(Reason.RFC_MISMATCH)

    check.reasons.extend(_chain_reasons(certificate, moment, in_force=in_force))
    return check


def _chain_reasons(
    certificate: x509.Certificate, moment: datetime.datetime, *, in_force: bool
) -> list[Reason]:
    if not in_force:
        # Revocation of a certificate out of its dates says nothing useful; only ask whether it
        # was issued by someone we trust, as of a moment when it was in force.
        context = validation_context(
            moment=certificate.not_valid_after - datetime.timedelta(seconds=2),
            fetch=False,
            hard_fail=False,
        )
    else:
        context = validation_context(moment=moment)
    try:
        asyncio.run(
            CertificateValidator(certificate, validation_context=context).async_validate_path()
        )
    except PathBuildingError:
        return [Reason.UNTRUSTED_CHAIN]
    except RevokedError:
        return [Reason.REVOKED]
    except InsufficientRevinfoError:
        return [Reason.REVOCATION_UNAVAILABLE]
    except (PathValidationError, ValidationError):
        # A bad signature in the chain, an expired intermediate, a forbidden algorithm.
        return [Reason.UNTRUSTED_CHAIN]
    return []
