"""The certification authorities the institute accepts, and how to ask about revocation.

Trusted roots and intermediates are the `.cer`/`.pem` files in SIGNATURES_TRUST_DIR (a
self-signed certificate is a root, any other an intermediate). Checks are hard-fail: a
certificate whose revocation status nobody answers for is not accepted.
"""

import datetime
from dataclasses import dataclass
from pathlib import Path

from asn1crypto import x509
from django.conf import settings
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

from signatures.certificates import CertificateUnreadable, load_certificate

TRUST_SUFFIXES = {".cer", ".crt", ".pem", ".der"}


class TrustStoreMissing(RuntimeError):
    """SIGNATURES_TRUST_DIR names no directory with certificates: a configuration error."""


@dataclass(frozen=True)
class TrustStore:
    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...]


def trust_store(directory: Path | None = None) -> TrustStore:
    directory = Path(directory or settings.SIGNATURES_TRUST_DIR)
    roots, intermediates = [], []
    files = sorted(p for p in directory.glob("*") if p.suffix.lower() in TRUST_SUFFIXES)
    for path in files:
        try:
            certificate = load_certificate(path.read_bytes())
        except CertificateUnreadable as error:
            raise TrustStoreMissing(f"{path}: no es un certificado legible") from error
        (intermediates if certificate.self_signed == "no" else roots).append(certificate)
    if not roots:
        raise TrustStoreMissing(
            f"No hay certificados raíz en SIGNATURES_TRUST_DIR={directory}; "
            "en el entorno de demostración, ejecute «manage.py demo_pki setup»."
        )
    return TrustStore(tuple(roots), tuple(intermediates))


def validation_context(
    *,
    moment: datetime.datetime | None = None,
    fetch: bool = True,
    hard_fail: bool = True,
    retroactive_revinfo: bool = False,
    dss=None,
) -> ValidationContext:
    """A pyhanko-certvalidator context on the institute's trust store.

    With ``dss`` (a PDF's Document Security Store), its certificates, OCSP responses and CRLs
    are preloaded: with ``fetch=False`` that tells whether the file alone proves the status.
    """
    store = trust_store()
    arguments = {
        "trust_roots": list(store.roots),
        "other_certs": list(store.intermediates),
        "moment": moment,
        "allow_fetching": fetch,
        "revocation_mode": "hard-fail" if hard_fail else "soft-fail",
        "retroactive_revinfo": retroactive_revinfo,
        "fetcher_backend": RequestsFetcherBackend(
            per_request_timeout=settings.SIGNATURES_HTTP_TIMEOUT
        ),
    }
    if dss is not None:
        return dss.as_validation_context(arguments)
    return ValidationContext(**arguments)
