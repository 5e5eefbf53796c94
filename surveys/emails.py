"""The survey emails: the invitation and its one reminder, in plain Spanish with the link.

Callers decide when (the task after the commit, the hourly reminder) and record that it went
out; this only writes and sends the message.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from surveys.models import Invitation, SurveyKind


def invitation_email_send(
    *, invitation: Invitation, url: str, reminder: bool, connection=None
) -> None:
    """Email the invitation (or its reminder) with `url`, the absolute link of its answer page."""
    application = invitation.application
    context = {
        "folio": application.folio,
        "url": url,
        "expires_at": invitation.expires_at,
        "after_payment": invitation.kind == SurveyKind.PAYMENT,
    }
    if reminder:
        subject = (
            _("%(institute)s · Recordatorio: tu opinión sobre tu préstamo %(folio)s")
            if context["after_payment"]
            else _("%(institute)s · Recordatorio: tu opinión sobre tu solicitud %(folio)s")
        )
        template = "surveys/email/reminder.txt"
    else:
        subject = (
            _("%(institute)s · ¿Cómo te fue con tu préstamo %(folio)s? (2 minutos)")
            if context["after_payment"]
            else _("%(institute)s · ¿Cómo te fue al firmar tu solicitud %(folio)s? (2 minutos)")
        )
        template = "surveys/email/invitation.txt"
    send_mail(
        subject=subject % {"institute": settings.INSTITUTE_SHORT_NAME, "folio": application.folio},
        message=render_to_string(template, context),
        from_email=None,
        recipient_list=[application.email or application.applicant.email],
        connection=connection,
    )
