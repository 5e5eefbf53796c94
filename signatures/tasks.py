"""Background work of the signatures app, run by the django-q2 cluster (idempotent)."""

import logging
from datetime import timedelta

from django.utils import timezone

from signatures.models import SigningSession

logger = logging.getLogger(__name__)

# Kept a day past their expiry, for whoever looks into a failed signature; then deleted. The
# record of a signature is the SignedDocument and the application's event, not the session.
SESSION_RETENTION = timedelta(days=1)


def signing_sessions_purge() -> int:
    """Delete signing sessions expired more than a day ago; return how many."""
    deleted, _by_model = SigningSession.objects.filter(
        expires_at__lt=timezone.now() - SESSION_RETENTION
    ).delete()
    if deleted:
        logger.info("signing_sessions_purge deleted=%s", deleted)
    return deleted
