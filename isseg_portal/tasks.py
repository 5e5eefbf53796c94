"""The portal's own periodic clean-ups, run by the django-q2 cluster (idempotent): what Django
and django-q2 keep in the database and never delete by themselves. Each app schedules its own
purges in its tasks.py (signing sessions: `signatures.tasks.signing_sessions_purge`)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_q.models import Failure

from isseg_portal.background import Every

logger = logging.getLogger(__name__)


def sessions_clear() -> int:
    """`manage.py clearsessions`: delete the sessions past their expiry (the portal keeps
    sessions in the database); return how many."""
    deleted, _by_model = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    if deleted:
        logger.info("sessions_clear deleted=%s", deleted)
    return deleted


def task_results_purge() -> int:
    """Delete the failed tasks older than Q_FAILURES_KEEP_DAYS (django-q2 keeps the last
    `save_limit` successes by itself, but every failure for ever); return how many."""
    cutoff = timezone.now() - timedelta(days=settings.Q_FAILURES_KEEP_DAYS)
    deleted, _by_model = Failure.objects.filter(stopped__lt=cutoff).delete()
    if deleted:
        logger.info("task_results_purge deleted=%s", deleted)
    return deleted


SCHEDULES = {
    sessions_clear: Every(minutes=60),
    task_results_purge: Every(minutes=60),
}
