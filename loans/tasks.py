"""Background work of the loans app, run by the django-q2 cluster: what follows a transition
once it commits (`loans.workflow.STATES`' effects) and the periodic sweeps (`SCHEDULES`).

Each task is idempotent: running it twice, or two workers running it at once, changes nothing
more than running it once.
"""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone, translation

from isseg_portal.background import Every, enqueue_on_commit
from loans import notifications
from loans.models import ApplicationEvent, LoanApplication, Notification, StaffDigest
from loans.services import ApplicationError, application_expire
from loans.signing import SEALED_CONTRACT_KIND, application_seal_contract
from loans.workflow import SEALED_STATUSES, STATES, ApplicationStatus, Effect
from signatures.models import SignedDocument
from signatures.pades import ServiceUnavailable

logger = logging.getLogger(__name__)


# --- What follows a transition ---------------------------------------------------------------


def notify_event(event_id: int, *, connection=None) -> bool:
    """Create the applicant's notice of one event and email it, once. Returns whether an email
    went out.

    ``connection``: an email connection to use instead of the configured one (the demo passes
    the dummy backend: its notices are posted, their emails to made-up addresses discarded).
    """
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
        event = ApplicationEvent.objects.select_related("application__applicant").get(pk=event_id)
        notification = notifications.notification_for(event)
        notification = (
            Notification.objects.select_for_update()
            .select_related("event__application__applicant")
            .get(pk=notification.pk)
        )
        if notification.emailed_at is not None:
            return False
        notifications.notification_email_send(notification, connection=connection)
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
    logger.info("Aviso enviado: %s evento %s", event.application.folio, event.sequence)
    return True


def seal_after_approval(event_id: int) -> bool:
    """The approval committed: seal its contract (see `seal_contract`)."""
    event = ApplicationEvent.objects.only("application_id").get(pk=event_id)
    return seal_contract(event.application_id)


# The task of each effect, called with the event's id.
EFFECT_TASKS: dict[Effect, Callable[[int], object]] = {
    Effect.NOTIFY: notify_event,
    Effect.SEAL: seal_after_approval,
}
EFFECT_GROUPS = {Effect.NOTIFY: "notifications", Effect.SEAL: "seals"}


def effects_enqueue(event: ApplicationEvent) -> None:
    """Queue, for after the commit, the effects of the state `event` moved into. Called by
    `loans.services.transitions.transition` inside its transaction."""
    for effect in STATES[event.to_status].after_commit:
        enqueue_on_commit(EFFECT_TASKS[effect], event.pk, group=EFFECT_GROUPS[effect])


# --- The seal ------------------------------------------------------------------------------


def seal_contract(application_id: int) -> bool:
    """Seal the contract of an approved (or paid) application. True when it is sealed now or
    was already; False when it is not in a sealed state, or a TSA or revocation service did not
    answer ("Aprobada, sello pendiente": `seal_pending_contracts` tries again)."""
    application = LoanApplication.objects.get(pk=application_id)
    if application.status not in SEALED_STATUSES:
        return False
    try:
        application_seal_contract(application)
    except ServiceUnavailable as error:
        logger.warning("Sello pendiente de %s: %s", application.folio, error)
        return False
    return True


def seal_pending_contracts() -> int:
    """Seal every approved (or already paid) application whose contract lacks the seal."""
    sealed = SignedDocument.objects.filter(kind=SEALED_CONTRACT_KIND, reference=OuterRef("folio"))
    pending = (
        LoanApplication.objects.filter(status__in=SEALED_STATUSES)
        .exclude(Exists(sealed))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return sum(seal_contract(pk) for pk in pending)


# --- Sweeps ------------------------------------------------------------------------------------


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


def staff_digest() -> int:
    """Email the analysts the applications signed since the last digest; return how many.

    The digest row is written in the same transaction that reads the events, under a lock, so
    two runs never announce the same application twice.
    """
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
        last = StaffDigest.objects.select_for_update().order_by("-last_sequence").first()
        since = last.last_sequence if last else 0
        events = list(
            ApplicationEvent.objects.filter(to_status=ApplicationStatus.SIGNED, sequence__gt=since)
            .select_related("application__affiliate", "application__product")
            .order_by("sequence")
        )
        if not events:
            return 0
        recipients = notifications.analysts_emails()
        StaffDigest.objects.create(
            last_sequence=events[-1].sequence,
            applications=len(events),
            sent_at=timezone.now(),
        )
        if recipients:
            notifications.staff_digest_send(events=events, recipients=recipients)
    logger.info("Resumen al personal: %s solicitudes", len(events))
    return len(events)


SCHEDULES = {
    expire_stale_drafts: Every(minutes=60),
    staff_digest: Every(minutes=60),
    # Retries the seals that a TSA or revocation service outage left pending.
    seal_pending_contracts: Every(minutes=5),
}
