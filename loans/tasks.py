"""Background work of the loans app, run by the django-q2 cluster.

Each task is idempotent: running it twice, or two workers running it at once, changes nothing
more than running it once.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from loans.models import ApplicationStatus, LoanApplication
from loans.services import ApplicationError, application_expire
from loans.signing import SEALED_CONTRACT_KIND, application_seal_contract
from signatures.models import SignedDocument
from signatures.pades import ServiceUnavailable

logger = logging.getLogger(__name__)

# The states whose contract carries the institute's seal.
SEALED_STATES = (ApplicationStatus.APPROVED, ApplicationStatus.DISBURSED)


def expire_stale_drafts() -> int:
    """Expire drafts older than LOAN_DRAFT_EXPIRY_DAYS; return how many expired now."""
    cutoff = timezone.now() - timedelta(days=settings.LOAN_DRAFT_EXPIRY_DAYS)
    stale = LoanApplication.objects.filter(
        status=ApplicationStatus.DRAFT, created_at__lt=cutoff
    ).order_by("pk")
    expired = 0
    for application in stale.iterator(chunk_size=500):
        try:
            # Each in its own transaction: one failure does not undo the others.
            application_expire(application=application)
        except ApplicationError:
            # Signed or cancelled since it was listed (another worker, the applicant): fine.
            continue
        expired += 1
    if expired:
        logger.info("expire_stale_drafts expired=%s", expired)
    return expired


def seal_approved_contract(application_id: int) -> bool:
    """Queued after an approval commits: seal its contract. True when it is sealed now or was."""
    application = LoanApplication.objects.get(pk=application_id)
    if application.status not in SEALED_STATES:
        return False
    try:
        application_seal_contract(application)
    except ServiceUnavailable as error:
        # "Aprobada, sello pendiente": seal_pending_contracts tries again every few minutes.
        logger.warning("Sello pendiente de %s: %s", application.folio, error)
        return False
    return True


def seal_pending_contracts() -> int:
    """Seal every approved (or already paid) application whose contract lacks the seal."""
    sealed = SignedDocument.objects.filter(kind=SEALED_CONTRACT_KIND, reference=OuterRef("folio"))
    pending = (
        LoanApplication.objects.filter(status__in=SEALED_STATES)
        .exclude(Exists(sealed))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return sum(seal_approved_contract(pk) for pk in pending)
