"""The portal's own background work, run by the django-q2 cluster (each task idempotent): the
notice to an account's owner that someone is trying passwords on it (queued by
isseg_portal.login_throttle), and the periodic clean-ups of what Django and django-q2 keep in the
database and never delete by themselves. Each app schedules its own purges in its tasks.py
(signing sessions: `signatures.tasks.signing_sessions_purge`)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_q.models import Failure

from isseg_portal.background import Every
from isseg_portal.context_processors import institute

logger = logging.getLogger(__name__)


def password_guessing_notify(user_id: int) -> None:
    """Email the owner that many wrong passwords were tried on their account. Idempotent enough:
    the throttle queues it at most once a day per account."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return
    context = {
        **institute(None),
        "email": user.email,
        "failures": settings.LOGIN_GUESSING_NOTICE_FAILURES,
        "password_reset_url": settings.PORTAL_BASE_URL + reverse("account_reset_password"),
    }
    send_mail(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
        + _("Alguien está intentando entrar a tu cuenta"),
        message=render_to_string("account/email/password_guessing_message.txt", context),
        from_email=None,
        recipient_list=[user.email],
    )


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
