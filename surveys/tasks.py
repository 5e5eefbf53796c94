"""The surveys app's django-q2 tasks."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

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
