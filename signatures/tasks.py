"""Background work of the signatures app, run by the django-q2 cluster (idempotent)."""

import logging
from datetime import timedelta

from django.core.files.storage import default_storage
from django.utils import timezone

from isseg_portal.background import Every
from signatures.models import SignedDocument, SigningSession
from signatures.pades import ServiceUnavailable
from signatures.validation import PdfUnreadable, validate_pdf

logger = logging.getLogger(__name__)

# Kept a day past their expiry, for whoever looks into a failed signature; then deleted. The
# record of a signature is the SignedDocument and the application's event, not the session.
SESSION_RETENTION = timedelta(days=1)
# Documents validated per run of the sweep: a backlog (after an outage, or the first run after
# the upgrade that added the reports) is worked through a batch at a time.
VALIDATE_BATCH = 200
# Where the signed PDFs are stored (`signatures.models.signed_document_path`), and how old a
# file there that no record names must be before the sweep deletes it: a file is written just
# before its record is saved, so a younger one may be about to be recorded.
SIGNED_FILES_DIRECTORY = "firmados"
ORPHAN_AGE = timedelta(days=1)


def signing_sessions_purge() -> int:
    """Delete signing sessions expired more than a day ago; return how many."""
    deleted, _by_model = SigningSession.objects.filter(
        expires_at__lt=timezone.now() - SESSION_RETENTION
    ).delete()
    if deleted:
        logger.info("signing_sessions_purge deleted=%s", deleted)
    return deleted


def document_validate(document_id: int) -> bool:
    """Validate a stored signed document once and keep the report beside it (pages show it
    instead of validating the file on every view). False when it could not be done now (a
    revocation service did not answer: the sweep tries again)."""
    document = SignedDocument.objects.filter(pk=document_id, validated_at__isnull=True).first()
    if document is None:
        return True
    try:
        with document.file.open("rb") as handle:
            report = validate_pdf(handle.read())
    except (ServiceUnavailable, OSError) as error:
        logger.warning("Documento %s sin validar por ahora: %s", document.pk, error)
        return False
    except PdfUnreadable as error:
        # Kept as a report that says so: staff must see that the stored file is unreadable.
        logger.error("Documento %s ilegible: %s", document.pk, error)
        report_data = {"ok": False, "unreadable": str(error), "signatures": []}
    else:
        report_data = report.as_dict()
    SignedDocument.objects.filter(pk=document.pk, validated_at__isnull=True).update(
        validation_report=report_data, validated_at=timezone.now()
    )
    return True


def documents_validate_pending() -> int:
    """Validate the documents that have no report yet (a task that failed, a service that was
    down, documents stored before reports were kept); each on its own, so one file that fails
    does not hold back the others. Returns how many were validated."""
    pending = SignedDocument.objects.filter(validated_at__isnull=True).order_by("pk")
    done = 0
    for document_id in pending.values_list("pk", flat=True)[:VALIDATE_BATCH]:
        try:
            done += document_validate(document_id)
        except Exception:
            logger.exception("Documento %s: la validación falló", document_id)
    return done


def signed_files_sweep() -> int:
    """Delete the signed PDFs that no `SignedDocument` names, written more than a day ago; return
    how many. Such a file is left when its record was not saved after it was written (a finish
    refused under the lock, a seal that found another worker's, a process killed in between)
    and its deletion then failed. Only under the signed documents' directory: the storage holds
    other apps' files, which are not this app's to judge."""
    referenced = set(SignedDocument.objects.values_list("file", flat=True))
    cutoff = timezone.now() - ORPHAN_AGE
    deleted = 0
    for name in _stored_files(SIGNED_FILES_DIRECTORY):
        if name in referenced:
            continue
        try:
            if default_storage.get_modified_time(name) >= cutoff:
                continue
            default_storage.delete(name)
        except (OSError, NotImplementedError) as error:
            logger.warning("signed_files_sweep: %s no se pudo revisar o borrar: %s", name, error)
            continue
        logger.info("signed_files_sweep deleted=%s", name)
        deleted += 1
    return deleted


def _stored_files(directory: str):
    """Every file's name under ``directory`` of the documents' storage, recursively."""
    try:
        directories, files = default_storage.listdir(directory)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{directory}/{name}"
    for child in directories:
        yield from _stored_files(f"{directory}/{child}")


SCHEDULES = {
    signing_sessions_purge: Every(minutes=60),
    signed_files_sweep: Every(minutes=24 * 60),
    documents_validate_pending: Every(minutes=10),
}
