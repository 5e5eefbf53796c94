"""Signing a document in two steps, with the signer's key kept on their device.

`signing_prepare` checks the signer's certificate (trust, dates, usage, revocation, and that it
is the expected person), has the caller render the final PDF, and keeps a single-use session
with it ready to be signed; `signing_finish` takes the signature value, completes the PAdES
B-LT signature and stores the signed PDF append-only, in one transaction with whatever the
caller does on success (`on_signed`: the loans app moves its application to `signed` there).

Every failure is a `SigningError` with a stable code and a Spanish message (the view that serves
the API chooses the HTTP status of each code); nothing the signer did is lost by one. This
module knows nothing of loans: what is signed is a `reference` and a `kind` given by the
caller.
"""

import base64
import binascii
import hashlib
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from isseg_portal.background import enqueue_on_commit
from isseg_portal.storage import write_once
from signatures.certificates import load_certificate, subject_identity
from signatures.checks import Reason, check_certificate
from signatures.models import SignedDocument, SigningSession, token_digest
from signatures.pades import (
    DIGEST_ALGORITHM,
    SIGNATURE_ALGORITHM,
    PreparedSignature,
    ServiceUnavailable,
    SignatureAppearance,
    SignatureValueInvalid,
    pades_finish,
    pades_prepare,
)
from signatures.tasks import document_validate

logger = logging.getLogger(__name__)

MAX_CERTIFICATE_BYTES = 16 * 1024
MAX_SIGNATURE_BYTES = 1024


class SigningError(Exception):
    """A refusal: `code` is stable (clients and the HTTP layer rely on it), `message` is for the
    signer, `reasons` name each problem of a refused certificate."""

    def __init__(self, code: str, message: str, reasons: list[str] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.reasons = reasons or []


@dataclass(frozen=True)
class PreparedSession:
    token: str
    signed_attributes: bytes
    digest_algorithm: str = DIGEST_ALGORITHM
    signature_algorithm: str = SIGNATURE_ALGORITHM


def signing_prepare(
    *,
    owner: AbstractBaseUser,
    reference: str,
    kind: str,
    certificate_data: bytes,
    curp: str,
    rfc: str,
    appearance: SignatureAppearance,
    render: Callable[[uuid.UUID], bytes],
) -> PreparedSession:
    """Check the certificate first (refusals are quick), then render and prepare.

    ``render(verification_token)`` returns the final PDF; the token is what the document
    prints (its QR code) and what its `SignedDocument` will be found by.
    """
    if not certificate_data:
        raise SigningError(
            "certificate_missing", _("Selecciona el certificado (.cer) de tu e.firma.")
        )
    if len(certificate_data) > MAX_CERTIFICATE_BYTES:
        raise SigningError(
            "certificate_unreadable",
            _("El archivo es demasiado grande para ser un certificado (.cer)."),
        )
    check = check_certificate(certificate_data, curp=curp, rfc=rfc)
    if check.reasons == [Reason.UNREADABLE]:
        raise SigningError("certificate_unreadable", check.messages[0])
    if check.only_transient:
        raise _service_unavailable()
    if not check.accepted:
        logger.info(
            "Certificado rechazado para %s: %s (serie %s)",
            reference,
            ",".join(check.reasons),
            check.identity.serial if check.identity else "-",
        )
        raise SigningError(
            "certificate_refused",
            _("Tu certificado no puede usarse para firmar: %(reasons)s")
            % {"reasons": " ".join(check.messages)},
            reasons=[str(reason) for reason in check.reasons],
        )

    verification_token = uuid.uuid4()
    prepared = pades_prepare(render(verification_token), check.certificate, appearance)
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    SigningSession.objects.create(
        token_sha256=token_digest(token),
        reference=reference,
        kind=kind,
        owner=owner,
        verification_token=verification_token,
        certificate=check.certificate.dump(),
        prepared_pdf=prepared.pdf,
        document_digest=prepared.document_digest,
        reserved_start=prepared.reserved_start,
        reserved_end=prepared.reserved_end,
        signed_attributes=prepared.signed_attributes,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.SIGNING_SESSION_SECONDS),
    )
    logger.info("Firma preparada para %s", reference)
    return PreparedSession(token=token, signed_attributes=prepared.signed_attributes)


def signing_finish(
    *,
    owner: AbstractBaseUser,
    reference: str,
    token: str,
    signature_b64: str,
    on_signed: Callable[[SignedDocument], None],
    same_day: bool = False,
) -> SignedDocument:
    """Complete the signature of a prepared session.

    ``same_day``: the document carries the date it was prepared on (a contract's date of
    signing), so a session prepared on another local day is refused as expired.

    ``on_signed(document)`` runs in the same transaction as the record of the signed document;
    by raising, it undoes that record (the file stays, unreferenced: nothing is overwritten).
    """
    signature = _signature_value(signature_b64)
    refusal: SigningError | None = None
    with transaction.atomic():
        session = _session_locked(owner=owner, reference=reference, token=token)
        if same_day and timezone.localdate(session.created_at) != timezone.localdate():
            raise _session_expired()
        certificate = load_certificate(bytes(session.certificate))
        try:
            signed_pdf = pades_finish(_prepared(session), certificate, signature)
        except SignatureValueInvalid:
            # Single use: a wrong value ends the session (the signer starts again).
            session.finished_at = timezone.now()
            session.save(update_fields=["finished_at"])
            refusal = SigningError(
                "signature_invalid",
                _(
                    "La firma recibida no corresponde a tu certificado. Vuelve a intentarlo "
                    "con la llave privada (.key) de ese mismo certificado."
                ),
            )
        except ServiceUnavailable as error:
            logger.warning("Servicio de firma no disponible para %s: %s", reference, error)
            raise _service_unavailable() from error
        else:
            document = _signed_document_record(
                session=session, certificate=certificate, content=signed_pdf
            )
            on_signed(document)
            session.finished_at = timezone.now()
            session.prepared_pdf = b""
            session.save(update_fields=["finished_at", "prepared_pdf"])
    if refusal is not None:
        raise refusal
    logger.info("Documento %s firmado; SHA-256 %s", reference, document.sha256)
    return document


def latest_signed_document(*, reference: str, kind: str) -> SignedDocument | None:
    return (
        SignedDocument.objects.filter(reference=reference, kind=kind)
        .order_by("-created_at")
        .first()
    )


def _service_unavailable() -> SigningError:
    return SigningError(
        "service_unavailable",
        _(
            "El servicio de sellado de tiempo o de validación de certificados no responde en "
            "este momento. Intenta más tarde: lo que ya capturaste sigue guardado y no se "
            "perdió nada."
        ),
    )


def _signature_value(signature_b64: str) -> bytes:
    try:
        signature = base64.b64decode(signature_b64 or "", validate=True)
    except (binascii.Error, ValueError):
        signature = b""
    if not signature or len(signature) > MAX_SIGNATURE_BYTES:
        raise SigningError("signature_invalid", _("No se recibió una firma válida (base64)."))
    return signature


def _session_locked(*, owner: AbstractBaseUser, reference: str, token: str) -> SigningSession:
    session = (
        SigningSession.objects.select_for_update()
        .filter(token_sha256=token_digest(token or ""), reference=reference, owner=owner)
        .first()
    )
    if session is None or session.finished_at is not None or session.expires_at <= timezone.now():
        raise _session_expired()
    return session


def _session_expired() -> SigningError:
    return SigningError(
        "session_expired",
        _(
            "La sesión de firma venció o ya se usó. Vuelve a firmar: tus archivos siguen "
            "seleccionados y lo que ya capturaste está guardado."
        ),
    )


def _prepared(session: SigningSession) -> PreparedSignature:
    return PreparedSignature(
        pdf=bytes(session.prepared_pdf),
        document_digest=bytes(session.document_digest),
        reserved_start=session.reserved_start,
        reserved_end=session.reserved_end,
        signed_attributes=bytes(session.signed_attributes),
    )


def _signed_document_record(
    *, session: SigningSession, certificate, content: bytes
) -> SignedDocument:
    return signed_document_store(
        content=content,
        certificate=certificate,
        reference=session.reference,
        kind=session.kind,
        verification_token=session.verification_token,
        signed_by=session.owner,
    )


def signed_document_store(
    *,
    content: bytes,
    certificate,
    reference: str,
    kind: str,
    verification_token: uuid.UUID,
    signed_by: AbstractBaseUser | None,
    supersedes: SignedDocument | None = None,
) -> SignedDocument:
    """Record a signed PDF: the file written once (`write_once`), then its row with the SHA-256
    and who signed it as the certificate (the last signature's) says; its validation report
    follows in a task. Inside the caller's transaction."""
    identity = subject_identity(certificate)
    document = SignedDocument(
        verification_token=verification_token,
        supersedes=supersedes,
        reference=reference,
        kind=kind,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        signer_name=identity.name,
        signer_curp=identity.curp,
        signer_rfc=identity.rfc,
        certificate_serial=identity.serial,
        certificate_issuer=identity.issuer,
        signed_by=signed_by,
        created_at=timezone.now(),
    )
    name = document.file.field.generate_filename(document, "documento.pdf")
    document.file.name = write_once(name, content)
    document.save()
    # Its validation report, kept for the pages that show it, once the record is committed.
    enqueue_on_commit(document_validate, document.pk, group="signatures")
    return document
