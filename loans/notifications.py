"""What the applicant is told about each change of their application, and what the analysts are
told of the applications waiting for them: the notices' and emails' words.

The wording of each state is `loans.workflow.STATES`; the tasks that send them are
`loans.tasks.notify_event` (after each transition commits) and `loans.tasks.staff_digest`
(hourly).
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from loans.models import ApplicationEvent, Notification
from loans.workflow import PERMISSION_REVIEW, STATES, ApplicationStatus


def notification_for(event: ApplicationEvent) -> Notification:
    """The applicant's notice of `event`, created the first time it is asked for."""
    application = event.application
    state = STATES[event.to_status]
    title = _("Tu solicitud %(folio)s: %(status)s") % {
        "folio": application.folio,
        "status": ApplicationStatus(event.to_status).label.lower(),
    }
    body = str(state.notice)
    if state.reason_for_applicant and event.reason:
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


def notification_email_send(notification: Notification, *, connection=None) -> None:
    application = notification.event.application
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


def analysts_emails() -> list[str]:
    """Whoever may take applications for review (the permission, not a group's name)."""
    return list(
        get_user_model()
        .objects.with_perm(
            PERMISSION_REVIEW,
            include_superusers=False,
            # Permissions come from Django's model backend (allauth's only authenticates).
            backend="django.contrib.auth.backends.ModelBackend",
        )
        .filter(is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )


def staff_digest_send(*, events: list[ApplicationEvent], recipients: list[str]) -> None:
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
