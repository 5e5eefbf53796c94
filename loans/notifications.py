"""Telling the applicant about each change of their application: an email and a notice in the
portal, in plain Spanish with a link.

`queue_event_notification` is called by every transition, inside its transaction; the work is a
django-q2 task queued after the commit (`notify_event`), and it is idempotent: the notice is one
row per event, and the email is sent only while that row says it was not.
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_q.tasks import async_task

from loans.models import ApplicationEvent, ApplicationStatus, Notification, StaffDigest

logger = logging.getLogger(__name__)

S = ApplicationStatus

# What each new state means for the applicant. A draft being created is their own doing and
# needs no notice.
EXPLANATIONS = {
    S.SIGNED: gettext_lazy(
        "Recibimos tu solicitud firmada. El Instituto la revisará y te avisaremos de cada paso."
    ),
    S.IN_REVIEW: gettext_lazy("Una persona del Instituto está revisando tu solicitud."),
    S.RETURNED: gettext_lazy(
        "Tu solicitud necesita una corrección. Lee el motivo, corrige lo que se indica y "
        "fírmala de nuevo."
    ),
    S.APPROVED: gettext_lazy(
        "Tu préstamo fue aprobado. El Instituto depositará el monto por SPEI en la cuenta que "
        "registraste."
    ),
    S.DISBURSED: gettext_lazy(
        "Tu préstamo ya se depositó. Los pagos se descontarán cada quincena según tu tabla de "
        "pagos."
    ),
    S.REJECTED: gettext_lazy("Tu solicitud fue rechazada. Abajo está el motivo."),
    S.CANCELLED: gettext_lazy("Tu solicitud quedó cancelada."),
    S.EXPIRED: gettext_lazy(
        "Tu solicitud venció porque no se completó y firmó a tiempo. Puedes empezar otra desde "
        "el simulador."
    ),
}
# The reason written by staff is for the applicant in these states; in the others it is internal.
REASON_SHOWN = {S.RETURNED, S.REJECTED}


def queue_event_notification(event: ApplicationEvent) -> None:
    if event.to_status not in EXPLANATIONS:
        return
    event_id = event.pk
    transaction.on_commit(
        lambda: async_task("loans.notifications.notify_event", event_id, group="notifications")
    )


def notify_event(event_id: int, *, connection=None) -> bool:
    """Create the notice of one event and email it, once. Returns whether an email went out.

    ``connection``: an email connection to use instead of the configured one (seed_demo passes
    the dummy backend: its notices are posted, their emails to made-up addresses discarded).
    """
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
        event = ApplicationEvent.objects.select_related("application__applicant").get(pk=event_id)
        notification = _notification_for(event)
        notification = Notification.objects.select_for_update().get(pk=notification.pk)
        if notification.emailed_at is not None:
            return False
        application = event.application
        send_mail(
            subject=f"{settings.INSTITUTE_SHORT_NAME} · {notification.title}",
            message=render_to_string(
                "loans/email/status_change.txt",
                {
                    "notification": notification,
                    "application": application,
                    "url": settings.PORTAL_BASE_URL
                    + reverse("loans:application_detail", args=[application.public_id]),
                },
            ),
            from_email=None,
            recipient_list=[application.email or application.applicant.email],
            connection=connection,
        )
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
    logger.info("Aviso enviado: %s evento %s", application.folio, event.sequence)
    return True


def _notification_for(event: ApplicationEvent) -> Notification:
    application = event.application
    title = _("Tu solicitud %(folio)s: %(status)s") % {
        "folio": application.folio,
        "status": S(event.to_status).label.lower(),
    }
    body = str(EXPLANATIONS[S(event.to_status)])
    if event.to_status in REASON_SHOWN and event.reason:
        body = f"{body}\n\n{_('Motivo')}: {event.reason}"
    notification, _created = Notification.objects.get_or_create(
        event=event,
        defaults={
            "recipient": application.applicant,
            "title": title,
            "body": body,
            "created_at": timezone.now(),
        },
    )
    return notification


ANALYSTS_GROUP = "Analistas"


def staff_digest() -> int:
    """Email the analysts the applications signed since the last digest; return how many.

    Scheduled hourly. The digest row is written in the same transaction that reads the events,
    under a lock, so two runs never announce the same application twice.
    """
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
        last = StaffDigest.objects.select_for_update().order_by("-last_sequence").first()
        since = last.last_sequence if last else 0
        events = list(
            ApplicationEvent.objects.filter(to_status=S.SIGNED, sequence__gt=since)
            .select_related("application__affiliate", "application__product")
            .order_by("sequence")
        )
        if not events:
            return 0
        recipients = list(
            get_user_model()
            .objects.filter(groups__name=ANALYSTS_GROUP, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
        StaffDigest.objects.create(
            last_sequence=events[-1].sequence,
            applications=len(events),
            sent_at=timezone.now(),
        )
        if recipients:
            send_mail(
                subject=_("%(institute)s · %(count)s solicitudes firmadas por revisar")
                % {"institute": settings.INSTITUTE_SHORT_NAME, "count": len(events)},
                message=render_to_string(
                    "loans/email/staff_digest.txt",
                    {
                        "events": events,
                        "admin_url": settings.PORTAL_BASE_URL
                        + reverse("admin:loans_loanapplication_changelist")
                        + "?status__exact=signed",
                    },
                ),
                from_email=None,
                recipient_list=recipients,
            )
    logger.info("Resumen al personal: %s solicitudes", len(events))
    return len(events)
