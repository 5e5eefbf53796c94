"""Background work of the loans app, run by the django-q2 cluster.

Each task is idempotent: running it twice, or two workers running it at once, changes nothing
more than running it once.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from loans.models import ApplicationStatus, LoanApplication
from loans.services import ApplicationError, application_expire

logger = logging.getLogger(__name__)


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
