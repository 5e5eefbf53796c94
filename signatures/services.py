"""Signing a document in two steps, with the signer's key kept on their device.

`signing_prepare` checks the signer's certificate (trust, dates, usage, revocation, and that it
is the expected person), has the caller render the final PDF, and keeps a single-use session
with it ready to be signed, bound to the caller's digest of the data the PDF prints;
`signing_finish` takes the signature value, completes the PAdES B-LT signature and stores the
signed PDF append-only, in one transaction with whatever the caller does on success
(`on_signed`: the loans app moves its application to `signed` there).

No transaction is open while the time-stamp and revocation services are asked (a hung TSA
would hold the session's row lock, and on SQLite the whole database): `signing_finish` claims
the session in one short write, does the network work, writes the file, then records it in a
second short transaction that checks again that the session is still its own and that the data
it prints have not changed (`current_digest`). `signing_sessions_invalidate` ends the open
sessions of a reference whose data changed (the caller's edits call it).

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
from django.core.files.storage import default_storage
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
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
# How long a finish may hold its claim on a session (the network work: a time-stamp, OCSP and
# CRL requests, each up to SIGNATURES_HTTP_TIMEOUT). A claim left by a request that died is
# taken over after this; a live one is released as soon as its request ends, however it ends.
FINISH_LEASE = timedelta(minutes=5)


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
    content_digest: str = "",
) -> PreparedSession:
    """Check the certificate first (refusals are quick), then render and prepare.

    ``render(verification_token)`` returns the final PDF; the token is what the document
    prints (its QR code) and what its `SignedDocument` will be found by. ``content_digest`` is
    the caller's digest of the data that PDF prints, which `signing_finish` checks again.
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
        content_digest=content_digest,
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
    current_digest: Callable[..., str] | None = None,
) -> SignedDocument:
    """Complete the signature of a prepared session.

    ``same_day``: the document carries the date it was prepared on (a contract's date of
    signing), so a session prepared on another local day is refused as expired.

    ``current_digest(locked=...)`` says the digest of the data the document would print now:
    asked once before the network work (``locked=False``, to refuse early) and again first
    thing in the transaction that records the signature (``locked=True``: the caller locks the
    row it reads, so no edit slips in before the commit). A digest other than the session's is
    refused as `contract_changed`, as is a session `signing_sessions_invalidate` ended.

    ``on_signed(document)`` runs in the same transaction as the record of the signed document;
    by raising, it undoes that record (and the file written for it is deleted).
    """
    signature = _signature_value(signature_b64)
    session = _session_claim(owner=owner, reference=reference, token=token, same_day=same_day)
    try:
        if current_digest is not None and current_digest(locked=False) != session.content_digest:
            raise _document_changed()
        certificate = load_certificate(bytes(session.certificate))
        try:
            signed_pdf = pades_finish(_prepared(session), certificate, signature)
        except SignatureValueInvalid:
            # Single use: a wrong value ends the session (the signer starts again).
            _session_end(session, finished=True)
            raise SigningError(
                "signature_invalid",
                _(
                    "La firma recibida no corresponde a tu certificado. Vuelve a intentarlo "
                    "con la llave privada (.key) de ese mismo certificado."
                ),
            ) from None
        except ServiceUnavailable as error:
            logger.warning("Servicio de firma no disponible para %s: %s", reference, error)
            raise _service_unavailable() from error
        # Written once and only by the request holding the claim; recorded below, or deleted.
        document = signed_document_build(
            content=signed_pdf,
            certificate=certificate,
            reference=session.reference,
            kind=session.kind,
            verification_token=session.verification_token,
            signed_by=session.owner,
        )
        try:
            with transaction.atomic():
                if (
                    current_digest is not None
                    and current_digest(locked=True) != session.content_digest
                ):
                    raise _document_changed()
                signed_document_record(document)
                on_signed(document)
                _session_finish_recorded(session)
        except BaseException:
            signed_file_discard(document.file.name)
            raise
    except BaseException as error:
        if not (isinstance(error, SigningError) and error.code == "signature_invalid"):
            _session_end(session, finished=False)
        raise
    logger.info("Documento %s firmado; SHA-256 %s", reference, document.sha256)
    return document


def signing_sessions_invalidate(*, reference: str) -> int:
    """End the open signing sessions of ``reference``: what they prepared is no longer what
    would be signed (the caller's data changed). Inside the caller's transaction, with the
    change; a finish in progress is refused when it records. Returns how many."""
    return SigningSession.objects.filter(
        reference=reference, finished_at__isnull=True, invalidated_at__isnull=True
    ).update(invalidated_at=timezone.now())


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


def _session_claim(
    *, owner: AbstractBaseUser, reference: str, token: str, same_day: bool
) -> SigningSession:
    """Take the session for this request, in one short write (no transaction is left open):
    a second finish of it meanwhile (a double click, another tab) is refused."""
    now = timezone.now()
    session = SigningSession.objects.filter(
        token_sha256=token_digest(token or ""), reference=reference, owner=owner
    ).first()
    if session is None or session.finished_at is not None or session.expires_at <= now:
        raise _session_expired()
    if session.invalidated_at is not None:
        raise _document_changed()
    if same_day and timezone.localdate(session.created_at) != timezone.localdate(now):
        raise _session_expired()
    claimed = (
        SigningSession.objects.filter(
            pk=session.pk, finished_at__isnull=True, invalidated_at__isnull=True
        )
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - FINISH_LEASE))
        .update(claimed_at=now)
    )
    if not claimed:
        raise _session_expired()
    session.claimed_at = now
    return session


def _session_finish_recorded(session: SigningSession) -> None:
    """Mark the session used, in the transaction that records its document, if it is still
    this request's and still valid; else refuse, which undoes the record."""
    ended = SigningSession.objects.filter(
        pk=session.pk,
        claimed_at=session.claimed_at,
        finished_at__isnull=True,
        invalidated_at__isnull=True,
    ).update(finished_at=timezone.now(), claimed_at=None, prepared_pdf=b"")
    if ended:
        return
    if SigningSession.objects.filter(pk=session.pk, invalidated_at__isnull=False).exists():
        raise _document_changed()
    raise _session_expired()


def _session_end(session: SigningSession, *, finished: bool) -> None:
    """Give up this request's claim: the session is spent (``finished``) or usable again (a
    service was down, the data changed, the request failed). Best effort: after a lost
    database connection a new one is opened; if that fails too, the lease runs out."""
    fields = {"claimed_at": None}
    if finished:
        fields["finished_at"] = timezone.now()
    try:
        if not connection.in_atomic_block and not connection.is_usable():
            connection.close()
        SigningSession.objects.filter(pk=session.pk, claimed_at=session.claimed_at).update(**fields)
    except DatabaseError:
        logger.warning("No se pudo liberar la sesión de firma de %s", session.reference)


def _document_changed() -> SigningError:
    return SigningError(
        "contract_changed",
        _(
            "Los datos del contrato cambiaron después de que preparaste la firma (por ejemplo, "
            "tu CLABE, tus datos de contacto o las condiciones del préstamo), así que esa firma "
            "ya no corresponde al contrato. No se firmó nada. Revisa el contrato con tus datos "
            "actuales y vuelve a firmar: lo que capturaste sigue guardado."
        ),
    )


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
    """Record a signed PDF: its file written once, then its row (`signed_document_build`,
    `signed_document_record`). Inside the caller's transaction."""
    document = signed_document_build(
        content=content,
        certificate=certificate,
        reference=reference,
        kind=kind,
        verification_token=verification_token,
        signed_by=signed_by,
        supersedes=supersedes,
    )
    signed_document_record(document)
    return document


def signed_document_build(
    *,
    content: bytes,
    certificate,
    reference: str,
    kind: str,
    verification_token: uuid.UUID,
    signed_by: AbstractBaseUser | None,
    supersedes: SignedDocument | None = None,
) -> SignedDocument:
    """A signed PDF's record, not saved yet, with its file written once (`write_once`) under a
    fresh name: the SHA-256 and who signed it as the certificate (the last signature's) says.
    Written before any transaction is opened; a record never saved leaves a file that
    `signed_file_discard` deletes, or else the daily sweep (`signatures.tasks`)."""
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
    return document


def signed_document_record(document: SignedDocument) -> None:
    """Save a built record; its validation report follows in a task once it is committed."""
    document.save()
    # Its validation report, kept for the pages that show it, once the record is committed.
    enqueue_on_commit(document_validate, document.pk, group="signatures")


def signed_file_discard(name: str) -> None:
    """Delete a file written for a record that was not saved (nothing refers to it)."""
    try:
        default_storage.delete(name)
    except OSError:
        logger.warning("No se pudo borrar el archivo sin registro %s", name)
