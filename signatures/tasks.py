"""Background work of the signatures app, run by the django-q2 cluster (idempotent)."""

import logging
from datetime import timedelta

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


SCHEDULES = {
    signing_sessions_purge: Every(minutes=60),
    documents_validate_pending: Every(minutes=10),
}
