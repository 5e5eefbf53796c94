"""The surveys app's django-q2 tasks: an invitation's email, and the hourly reminders."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from isseg_portal.background import Every
from surveys import emails
from surveys.models import Invitation
from surveys.services import invitation_url

logger = logging.getLogger(__name__)


def invitation_send(invitation_id: int, *, connection=None) -> bool:
    """Email an invitation, once. Returns whether an email went out.

    Queued after the commit of the transition that made the invitation. Idempotent: the email
    goes out only while `emailed_at` is empty, read and written under a lock, so a retried or
    duplicated task sends nothing more. An invitation already answered (from the portal's
    banner) or expired is not emailed at all, and so never reminded either.
    ``connection``: an email connection to use instead of the configured one.
    """
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
        invitation = Invitation.objects.select_for_update().filter(pk=invitation_id).first()
        if invitation is None or invitation.emailed_at is not None:
            return False
        if invitation.answered_at is not None or invitation.expires_at <= timezone.now():
            return False
        emails.invitation_email_send(
            invitation=invitation,
            url=invitation_url(invitation),
            reminder=False,
            connection=connection,
        )
        invitation.emailed_at = timezone.now()
        invitation.save(update_fields=["emailed_at"])
    logger.info(
        "Invitación a encuesta enviada: %s, %s", invitation.application.folio, invitation.kind
    )
    return True


def invitations_remind() -> int:
    """Email one reminder to every invitation still unanswered some days after its email.

    Scheduled hourly. Each reminder is written under a lock of its invitation, so two runs
    never remind anyone twice; an email that fails is logged and tried again next hour.
    """
    now = timezone.now()
    due = list(
        Invitation.objects.filter(
            answered_at__isnull=True,
            reminded_at__isnull=True,
            expires_at__gt=now,
            emailed_at__lte=now - timedelta(days=settings.SURVEYS_REMINDER_DAYS),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    sent = 0
    for invitation_id in due:
        try:
            with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
                invitation = Invitation.objects.select_for_update().get(pk=invitation_id)
                if invitation.reminded_at is not None or invitation.answered_at is not None:
                    continue
                emails.invitation_email_send(
                    invitation=invitation, url=invitation_url(invitation), reminder=True
                )
                invitation.reminded_at = timezone.now()
                invitation.save(update_fields=["reminded_at"])
        except Exception:
            # One address the mail server refuses must not hold back everyone else's reminder.
            logger.exception("Recordatorio de encuesta no enviado: invitación %s", invitation_id)
            continue
        sent += 1
    if sent:
        logger.info("Recordatorios de encuesta enviados: %s", sent)
    return sent


SCHEDULES = {invitations_remind: Every(minutes=60)}
