"""The institute's electronic seal on a signed PDF: PAdES B-LTA with the server's own key.

`seal_pdf` adds the seal as one more approval signature, in an incremental update, so the
signatures already in the file stay valid (a certification signature could only be the first
one). Like the applicant's, it carries a signature time-stamp and the validation data of the
seal's and the TSA's chains in the DSS (B-LT); then pyHanko adds a document time-stamp over
everything (B-LTA), which also covers the earlier signatures and their validation data.

The key and certificate come from a PKCS#12 (SIGNATURES_SEAL_PKCS12, SIGNATURES_SEAL_PASSWORD).
A seal is never applied twice to one field: `has_signature_field` tells a caller whether it is
there already, and `seal_pdf` refuses (`AlreadySealed`) rather than return the file unchanged,
because a field signed by anyone at all is not proof of the institute's seal.

`document_seal` seals a stored `SignedDocument` into a new one that supersedes it, once.
Like `signatures.pades`, this module knows nothing of loans.
"""

import asyncio
import functools
import hashlib
import logging
from io import BytesIO
from pathlib import Path

from asn1crypto import x509 as asn1_x509
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko_certvalidator.errors import (
    CertificateFetchError,
    InsufficientRevinfoError,
    PathError,
    PathValidationError,
)

from signatures.models import SignedDocument
from signatures.pades import DIGEST_ALGORITHM, ServiceUnavailable
from signatures.services import (
    signed_document_build,
    signed_document_record,
    signed_file_discard,
)
from signatures.trust import trust_store, validation_context

logger = logging.getLogger(__name__)


class SealUnavailable(Exception):
    """The seal cannot be used as configured (file, password, certificate); retrying won't help."""


class AlreadySealed(ValueError):
    """The PDF already has a signature in the field the seal would go to."""


class SourceAltered(ValueError):
    """A stored document's file no longer has the SHA-256 recorded for it: it is not sealed."""


def has_signature_field(pdf: bytes, field_name: str) -> bool:
    """Whether the PDF carries a signature (not merely an empty field) named ``field_name``."""
    reader = PdfFileReader(BytesIO(pdf))
    # The filled signature fields by name; `embedded_signatures` would parse every CMS first.
    filled = fields.enumerate_sig_fields(reader, filled_status=True, with_name=field_name)
    return next(filled, None) is not None


def seal_pdf(pdf: bytes, *, field_name: str, reason: str, location: str) -> bytes:
    """The PDF with the institute's seal added, at PAdES B-LTA.

    Raises `AlreadySealed`, `SealUnavailable`, or `ServiceUnavailable` when the TSA or a
    revocation service does not answer (the same call may work later). Nothing is written.
    """
    if has_signature_field(pdf, field_name):
        raise AlreadySealed(field_name)
    metadata = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm=DIGEST_ALGORITHM,
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        embed_validation_info=True,
        use_pades_lta=True,
        timestamp_field_name=f"{field_name}SelloDeTiempo",
        validation_context=validation_context(),
    )
    pdf_signer = signers.PdfSigner(
        metadata,
        signer=_seal_signer(),
        timestamper=RequestsHTTPTimeStamper(
            settings.SIGNATURES_TSA_URL, timeout=settings.SIGNATURES_HTTP_TIMEOUT
        ),
        # Invisible, like the applicant's: the contract prints who signs and how.
        new_field_spec=fields.SigFieldSpec(sig_field_name=field_name, on_page=-1),
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    try:
        output = asyncio.run(pdf_signer.async_sign_pdf(writer))
    except (SigningError, TimestampRequestError, OSError, PathError, PathValidationError) as error:
        translated = _translated(error)
        if translated is None:
            raise
        raise translated from error
    return output.getvalue()


def document_seal(
    *, document: SignedDocument, kind: str, field_name: str, reason: str, location: str
) -> SignedDocument:
    """Seal a stored document into a new `SignedDocument` of ``kind``; idempotent.

    If the reference already has a document of ``kind``, that one is returned and nothing is
    sealed. The seal talks to the TSA and the revocation services with no transaction open
    (a hung TSA holds no lock); its file is then written under a new name, and recorded in a
    short transaction that locks the source and looks again for a sealed version: a run that
    finds one there (two workers at once) deletes its own file and returns that one. A worker
    killed in between leaves nothing recorded (at most a file the daily sweep deletes), and the
    next run seals again and completes.
    """
    if kind == document.kind:
        raise ValueError("The sealed document needs a kind of its own.")
    existing = _sealed_version(document, kind)
    if existing is not None:
        return existing
    source = SignedDocument.objects.get(pk=document.pk)
    with source.file.open("rb") as handle:
        content = handle.read()
    # The seal vouches for what was signed: never for a file changed since it was recorded.
    if hashlib.sha256(content).hexdigest() != source.sha256:
        raise SourceAltered(source.file.name)
    sealed = seal_pdf(content, field_name=field_name, reason=reason, location=location)
    record = signed_document_build(
        content=sealed,
        # The seal's own certificate, the one `seal_pdf` signed with (not read back from the
        # file, which parsed every signature of it again).
        certificate=_seal_signer().signing_cert,
        reference=source.reference,
        kind=kind,
        # Same printed QR code: the verification page shows the latest version of the chain.
        verification_token=source.verification_token,
        # A task applies the institute's seal: no person's account signed it.
        signed_by=None,
        supersedes=source,
    )
    try:
        with transaction.atomic():
            # Concurrent runs queue here; the first to record wins, the others find its record.
            source = SignedDocument.objects.select_for_update().get(pk=source.pk)
            existing = _sealed_version(source, kind)
            if existing is None:
                signed_document_record(record)
    except BaseException:
        signed_file_discard(record.file.name)
        raise
    if existing is not None:
        signed_file_discard(record.file.name)
        return existing
    logger.info("Documento %s sellado (%s); SHA-256 %s", record.reference, kind, record.sha256)
    return record


def _sealed_version(document: SignedDocument, kind: str) -> SignedDocument | None:
    return (
        SignedDocument.objects.filter(reference=document.reference, kind=kind)
        .order_by("-created_at")
        .first()
    )


def _seal_signer() -> signers.SimpleSigner:
    """The seal's signer, loaded from its PKCS#12 once per process and file: opening it derives
    the key from the password (about 0.1 s), which every seal used to pay."""
    path = Path(settings.SIGNATURES_SEAL_PKCS12)
    try:
        stat = path.stat()
    except OSError:
        stat = None
    if stat is None or not path.is_file():
        raise SealUnavailable(
            _(
                "No se encuentra el archivo del sello institucional (%(path)s); revise "
                "SIGNATURES_SEAL_PKCS12. En el entorno de demostración, ejecute "
                "«manage.py demo_pki setup»."
            )
            % {"path": path}
        )
    try:
        return _load_seal_signer(
            str(path),
            stat.st_mtime_ns,
            stat.st_size,
            settings.SIGNATURES_SEAL_PASSWORD,
            tuple(certificate.dump() for certificate in trust_store().intermediates),
        )
    except _NotLoaded:
        raise SealUnavailable(
            _(
                "No se pudo abrir el sello institucional (%(path)s): no es un PKCS#12 con llave "
                "y certificado, o la contraseña (SIGNATURES_SEAL_PASSWORD) no es la correcta."
            )
            % {"path": path}
        ) from None


class _NotLoaded(Exception):
    pass


@functools.lru_cache(maxsize=4)
def _load_seal_signer(
    path: str, mtime_ns: int, size: int, password: str, intermediates: tuple[bytes, ...]
) -> signers.SimpleSigner:
    """A new file (name, time or size), password or trust store is a new key; a file that
    does not open raises, and is not remembered."""
    # pyHanko logs why a PKCS#12 does not load (damaged, wrong password, no key) and says None.
    signer = signers.SimpleSigner.load_pkcs12(
        path,
        other_certs=[asn1_x509.Certificate.load(der) for der in intermediates],
        passphrase=password.encode(),
    )
    if signer is None:
        raise _NotLoaded(path)
    return signer


def _translated(error: Exception) -> Exception | None:
    # pyHanko wraps failures of its pre-signing checks in a SigningError.
    cause = error.__cause__ if isinstance(error, SigningError) else error
    if isinstance(cause, TimestampRequestError | OSError):
        return ServiceUnavailable("TSA")
    if isinstance(cause, InsufficientRevinfoError | CertificateFetchError):
        return ServiceUnavailable("revocation")
    if isinstance(cause, PathError | PathValidationError):
        return SealUnavailable(
            _(
                "El certificado del sello institucional no es válido (vencido, revocado o de "
                "una autoridad no reconocida): %(error)s"
            )
            % {"error": cause}
        )
    return None
