"""Every change of state of a loan application, and its record in the audit chain.

Nothing else assigns `LoanApplication.status`. Each transition is one service function; they
all go through `_transition`, which locks the application, checks the allowed-transitions
table, saves the new state with `update_fields`, and appends an `ApplicationEvent` to the audit
chain in the same transaction.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from affiliates.models import Affiliate
from loans import audit, notifications, reporting
from loans.amortization import quote
from loans.models import (
    ApplicationEvent,
    ApplicationStatus,
    AuditChainHead,
    FolioCounter,
    LoanApplication,
    LoanProduct,
)

S = ApplicationStatus

# Sent inside the transaction of every transition, after its event is written, with
# `application` (the locked row, already in its new state) and `event`. Apps that build on
# loans (surveys) listen to it instead of loans knowing them; receivers that do outside work
# must defer it with `transaction.on_commit`.
transition_recorded = Signal()

# Which state may follow which (DESIGN §4). A transition not listed here is refused.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SIGNED, S.CANCELLED, S.EXPIRED}),
    S.SIGNED: frozenset({S.IN_REVIEW, S.CANCELLED}),
    S.IN_REVIEW: frozenset({S.APPROVED, S.RETURNED, S.REJECTED, S.CANCELLED}),
    S.RETURNED: frozenset({S.SIGNED, S.CANCELLED}),
    S.APPROVED: frozenset({S.DISBURSED}),
    S.DISBURSED: frozenset(),
    S.REJECTED: frozenset(),
    S.CANCELLED: frozenset(),
    S.EXPIRED: frozenset(),
}


class ApplicationError(Exception):
    """A write the rules refuse; `message` is ready to show to the person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class QuoteTerms:
    """What the applicant accepted in the simulator, copied onto the application."""

    amount: Decimal
    quincenas: int
    annual_rate: Decimal
    interest_convention: str
    fund_rate: Decimal
    payment: Decimal
    cat: Decimal
    previous_balance: Decimal
    net_to_receive: Decimal


def application_create(
    *,
    applicant: AbstractBaseUser,
    affiliate: Affiliate,
    product: LoanProduct,
    terms: QuoteTerms,
    ip_address: str | None,
) -> LoanApplication:
    """A new draft with its folio, and the event that opens its history."""
    with transaction.atomic():
        now = timezone.now()
        application = LoanApplication.objects.create(
            folio=_folio_next(year=timezone.localdate(now).year),
            applicant=applicant,
            affiliate=affiliate,
            product=product,
            status=S.DRAFT,
            status_changed_at=now,
            amount=terms.amount,
            quincenas=terms.quincenas,
            annual_rate=terms.annual_rate,
            interest_convention=terms.interest_convention,
            fund_rate=terms.fund_rate,
            payment=terms.payment,
            cat=terms.cat,
            previous_balance=terms.previous_balance,
            net_to_receive=terms.net_to_receive,
            employer_id=affiliate.employer_id,
            municipality=affiliate.municipality,
            total_interest=quote(
                amount=terms.amount,
                annual_rate=terms.annual_rate,
                quincenas=terms.quincenas,
                convention=terms.interest_convention,
                fund_rate=terms.fund_rate,
            ).total_interest,
        )
        _event_append(
            application=application,
            from_status="",
            to_status=S.DRAFT,
            actor=applicant,
            reason="",
            ip_address=ip_address,
            at=now,
        )
        reporting.tally_mark_stale(application=application)
    return application


def application_cancel(
    *,
    application: LoanApplication,
    actor: AbstractBaseUser,
    reason: str = "",
    ip_address: str | None,
) -> LoanApplication:
    """The applicant withdraws an application that has not been approved."""
    return _transition(
        application=application,
        to_status=S.CANCELLED,
        actor=actor,
        reason=reason,
        ip_address=ip_address,
    )


def application_sign(
    *,
    application: LoanApplication,
    actor: AbstractBaseUser,
    document_sha256: str,
    ip_address: str | None,
) -> LoanApplication:
    """The applicant signed the contract of a complete draft (`signatures.services` calls this
    in the same transaction that records the signed PDF, whose SHA-256 goes into the event).
    """
    with transaction.atomic():
        locked = _draft_locked(application)
        if locked.completed_at is None:
            raise ApplicationError(_("Completa tu solicitud antes de firmar el contrato."))

        def record(locked: LoanApplication) -> list[str]:
            # The latest signature is the contract's date (returned ones are signed again).
            locked.signed_at = timezone.now()
            return ["signed_at"]

        return _transition(
            application=application,
            to_status=S.SIGNED,
            actor=actor,
            reason=_("Contrato firmado con e.firma; SHA-256 del PDF firmado: %(sha256)s")
            % {"sha256": document_sha256},
            ip_address=ip_address,
            before_save=record,
        )


def application_expire(*, application: LoanApplication) -> LoanApplication:
    """A draft not completed and signed in time; the system acts, no person."""
    return _transition(
        application=application,
        to_status=S.EXPIRED,
        actor=None,
        reason=_("Venció el plazo para completar y firmar la solicitud."),
        ip_address=None,
    )


def _transition(
    *,
    application: LoanApplication,
    to_status: str,
    actor: AbstractBaseUser | None,
    reason: str,
    ip_address: str | None,
    before_save: Callable[[LoanApplication], Iterable[str]] | None = None,
) -> LoanApplication:
    with transaction.atomic():
        # Re-read under lock: the instance passed in may be stale (another tab, a task).
        locked = LoanApplication.objects.select_for_update().get(pk=application.pk)
        from_status = locked.status
        if to_status not in ALLOWED_TRANSITIONS[from_status]:
            raise ApplicationError(
                _("La solicitud %(folio)s está %(status)s: no puede pasar a «%(target)s».")
                % {
                    "folio": locked.folio,
                    "status": locked.get_status_display().lower(),
                    "target": S(to_status).label.lower(),
                }
            )
        # What else the transition checks or records on the locked row (who reviewed, who
        # approved); it may refuse by raising ApplicationError.
        extra_fields = list(before_save(locked)) if before_save else []
        now = timezone.now()
        locked.status = to_status
        locked.status_changed_at = now
        locked.save(update_fields=["status", "status_changed_at", *extra_fields])
        event = _event_append(
            application=locked,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            reason=reason,
            ip_address=ip_address,
            at=now,
        )
        # The email and the notice go out after the commit (a task), never for a rollback.
        notifications.queue_event_notification(event)
        reporting.tally_mark_stale(application=locked)
        transition_recorded.send(sender=LoanApplication, application=locked, event=event)
    application.status = locked.status
    application.status_changed_at = locked.status_changed_at
    for name in extra_fields:
        setattr(application, name, getattr(locked, name))
    return application


def _event_append(
    *,
    application: LoanApplication,
    from_status: str,
    to_status: str,
    actor: AbstractBaseUser | None,
    reason: str,
    ip_address: str | None,
    at,
) -> ApplicationEvent:
    """Append one event to the chain. Must run inside the caller's transaction."""
    # One writer at a time appends: the head row is the lock and the anchor of the chain.
    head = AuditChainHead.objects.select_for_update().get(pk=1)
    # Hash the address as the database will store it (IPv6 normalised), or the stored row
    # would never verify.
    ip_address = ApplicationEvent._meta.get_field("ip_address").get_prep_value(ip_address)
    fields = {
        "sequence": head.last_sequence + 1,
        "application_id": application.pk,
        "folio": application.folio,
        "from_status": str(from_status),
        "to_status": str(to_status),
        "actor_id": actor.pk if actor is not None else None,
        "reason": reason,
        "ip_address": ip_address,
        "created_at": at,
    }
    digest = audit.event_hash(previous_hash=head.last_hash, fields=fields)
    event = ApplicationEvent.objects.create(
        sequence=fields["sequence"],
        application=application,
        from_status=fields["from_status"],
        to_status=fields["to_status"],
        actor=actor,
        reason=reason,
        ip_address=ip_address,
        created_at=at,
        previous_hash=head.last_hash,
        hash=digest,
    )
    head.last_sequence = fields["sequence"]
    head.last_hash = digest
    head.save(update_fields=["last_sequence", "last_hash"])
    return event


def _folio_next(*, year: int) -> str:
    """PL-<year>-<6 digits>, consecutive within the year. Inside the caller's transaction."""
    counter, _created = FolioCounter.objects.get_or_create(year=year)
    counter = FolioCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"PL-{year}-{counter.last_number:06d}"


# --- The applicant's wizard ------------------------------------------------------------------
# These write what the applicant enters into a draft. None changes the status; each locks the
# application and refuses anything but a draft, so a tab left open on a cancelled (or, later,
# signed) application cannot change it.


def _draft_locked(application: LoanApplication) -> LoanApplication:
    locked = LoanApplication.objects.select_for_update().get(pk=application.pk)
    if not locked.is_editable:
        raise ApplicationError(
            _("La solicitud %(folio)s está %(status)s: ya no se puede modificar.")
            % {"folio": locked.folio, "status": locked.get_status_display().lower()}
        )
    return locked
