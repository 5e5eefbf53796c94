"""Every change of state of a loan application, and its record in the audit chain.

Nothing else assigns `LoanApplication.status`. `transition` applies a move of the state machine
declared in `loans.workflow`: it locks the application, checks that the move is declared and that
the actor may make it, saves the new state with `update_fields`, appends an `ApplicationEvent` to
the audit chain in the same transaction, and has the state's effects (`workflow.STATES`) queued
after the commit. Each transition of the applicant's or of the system is a service function
here; staff's are in `loans.services.review`.

Two signals let the apps built on loans follow the applications without loans knowing them:

- `transition_recorded`, inside the transaction, for every event appended (the creation, each
  transition, an imported history), with `application` (locked, in its new state) and `event`.
  Its receivers must be small writes that belong with the change (the dashboard marks the month
  stale); an exception there undoes the change.
- `transition_committed`, once a live transition committed (never for an imported history),
  with the same arguments. Sent robustly: a receiver's failure is logged and changes nothing
  (the surveys app invites to a survey here).
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from affiliates.models import Affiliate
from loans import audit
from loans.amortization import quote
from loans.models import (
    ApplicationEvent,
    AuditChainHead,
    FolioCounter,
    LoanApplication,
    LoanProduct,
)
from loans.workflow import ALLOWED_TRANSITIONS, Actor, ApplicationStatus, actor_for

logger = logging.getLogger(__name__)

transition_recorded = Signal()
transition_committed = Signal()


class ApplicationError(Exception):
    """A write the rules refuse; `message` is ready to show to the person, `code` names the
    refusal for clients that need one (the signing API)."""

    def __init__(self, message: str, code: str = "refused"):
        super().__init__(message)
        self.message = message
        self.code = code


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
    at: datetime | None = None,
    **fields: Any,
) -> LoanApplication:
    """A new draft with its folio, its accepted terms and the facts the program's figures use
    (where the affiliate worked, the interest its schedule projects), and the event that opens
    its history. An imported history (`loans.history`) passes its own date `at` and the `fields`
    its later steps recorded (contact, CLABE, who reviewed and approved...)."""
    imported = at is not None
    with transaction.atomic():
        at = at or timezone.now()
        application = LoanApplication.objects.create(
            folio=folio_next(year=timezone.localtime(at).year),
            applicant=applicant,
            affiliate=affiliate,
            product=product,
            status=ApplicationStatus.DRAFT,
            status_changed_at=at,
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
            **fields,
        )
        if imported:
            # auto_now_add wrote the present; an imported history's date is the one that counts.
            LoanApplication.objects.filter(pk=application.pk).update(created_at=at)
            application.created_at = at
        event = event_append(
            application=application,
            from_status="",
            to_status=ApplicationStatus.DRAFT,
            actor=applicant,
            reason="",
            ip_address=ip_address,
            at=at,
        )
        transition_recorded.send(sender=LoanApplication, application=application, event=event)
    return application


def application_cancel(
    *,
    application: LoanApplication,
    actor: AbstractBaseUser,
    reason: str = "",
    ip_address: str | None,
) -> LoanApplication:
    """The applicant withdraws an application that has not been approved."""
    return transition(
        application=application,
        to_status=ApplicationStatus.CANCELLED,
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
    """The applicant signed the contract of a complete draft (`loans.signing` calls this in the
    same transaction that records the signed PDF, whose SHA-256 goes into the event).
    """

    with transaction.atomic():
        # Whether it may be signed is asked under the lock, in the words the signing page uses.
        locked = LoanApplication.objects.select_for_update().get(pk=application.pk)
        refusal = locked.signing_refusal
        if refusal is not None:
            raise ApplicationError(refusal, code="not_signable")

        def record(locked: LoanApplication) -> list[str]:
            # The latest signature is the contract's date (returned ones are signed again).
            locked.signed_at = timezone.now()
            return ["signed_at"]

        return transition(
            application=application,
            to_status=ApplicationStatus.SIGNED,
            actor=actor,
            reason=_("Contrato firmado con e.firma; SHA-256 del PDF firmado: %(sha256)s")
            % {"sha256": document_sha256},
            ip_address=ip_address,
            before_save=record,
        )


def application_expire(*, application: LoanApplication) -> LoanApplication:
    """A draft not completed and signed in time; the system acts, no person."""
    return transition(
        application=application,
        to_status=ApplicationStatus.EXPIRED,
        actor=None,
        reason=_("Venció el plazo para completar y firmar la solicitud."),
        ip_address=None,
    )


def transition_permission_check(*, actor: AbstractBaseUser | None, to_status: str) -> None:
    """Refuse a staff move to someone without its permission (`workflow.MOVES`). Services call
    it first, before reading their input, so that the refusal is the first thing said."""
    kind, permission = actor_for(to_status)
    if kind == Actor.STAFF and (actor is None or not actor.has_perm(permission)):
        raise ApplicationError(_("Tu cuenta no tiene permiso para esta acción."), code="forbidden")


def transition(
    *,
    application: LoanApplication,
    to_status: str,
    actor: AbstractBaseUser | None,
    reason: str,
    ip_address: str | None,
    before_save: Callable[[LoanApplication], Iterable[str]] | None = None,
    historical_at: datetime | None = None,
) -> LoanApplication:
    """Move `application` to `to_status`; refuse with ApplicationError what the state machine
    does not allow.

    `before_save(locked)` checks or records what else the move needs on the locked row (who
    reviewed, who approved) and returns the fields it changed; it may refuse by raising
    ApplicationError. `historical_at`: a move that happened then, recorded now from an earlier
    program's records (`loans.history`): dated then, its actor taken as recorded, and nothing
    follows it (no notice, seal or survey).
    """
    if historical_at is None:
        transition_permission_check(actor=actor, to_status=to_status)
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
                    "target": ApplicationStatus(to_status).label.lower(),
                },
                code="not_allowed",
            )
        if historical_at is None:
            _actor_check(locked=locked, actor=actor, to_status=to_status)
        extra_fields = list(before_save(locked)) if before_save else []
        now = historical_at or timezone.now()
        locked.status = to_status
        locked.status_changed_at = now
        locked.save(update_fields=["status", "status_changed_at", *extra_fields])
        event = event_append(
            application=locked,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            reason=reason,
            ip_address=ip_address,
            at=now,
        )
        transition_recorded.send(sender=LoanApplication, application=locked, event=event)
        if historical_at is None:
            _after_commit(application=locked, event=event)
    application.status = locked.status
    application.status_changed_at = locked.status_changed_at
    for name in extra_fields:
        setattr(application, name, getattr(locked, name))
    return application


def _actor_check(*, locked: LoanApplication, actor: AbstractBaseUser | None, to_status: str):
    kind, _permission = actor_for(to_status)
    if kind == Actor.APPLICANT and (actor is None or actor.pk != locked.applicant_id):
        raise ApplicationError(
            _("Solo quien hizo la solicitud %(folio)s puede hacer esto.") % {"folio": locked.folio},
            code="forbidden",
        )
    if kind == Actor.SYSTEM and actor is not None:
        raise ApplicationError(
            _("El sistema hace este cambio; ninguna persona puede hacerlo."), code="forbidden"
        )


def _after_commit(*, application: LoanApplication, event: ApplicationEvent) -> None:
    """Queue the new state's effects and tell the other apps, once the transaction commits."""
    # Imported here: the tasks import the services that call this.
    from loans.tasks import effects_enqueue

    effects_enqueue(event)

    def committed() -> None:
        for receiver, outcome in transition_committed.send_robust(
            sender=LoanApplication, application=application, event=event
        ):
            if isinstance(outcome, Exception):
                # The change is committed and stays; what followed it failed and is reported.
                logger.error(
                    "Tras el evento %s de %s falló %s: %r",
                    event.sequence,
                    application.folio,
                    getattr(receiver, "__qualname__", receiver),
                    outcome,
                    exc_info=outcome,
                )

    transaction.on_commit(committed)


def event_append(
    *,
    application: LoanApplication,
    from_status: str,
    to_status: str,
    actor: AbstractBaseUser | None,
    reason: str,
    ip_address: str | None,
    at: datetime,
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


def folio_next(*, year: int) -> str:
    """PL-<year>-<6 digits>, consecutive within the year. Inside the caller's transaction."""
    counter, _created = FolioCounter.objects.get_or_create(year=year)
    counter = FolioCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"PL-{year}-{counter.last_number:06d}"


def draft_locked(application: LoanApplication) -> LoanApplication:
    """The application locked for the applicant's edits; refused once it is no longer editable
    (a tab left open on a cancelled or signed application cannot change it). Inside the
    caller's transaction."""
    locked = LoanApplication.objects.select_for_update().get(pk=application.pk)
    if not locked.is_editable:
        raise ApplicationError(
            _("La solicitud %(folio)s está %(status)s: ya no se puede modificar.")
            % {"folio": locked.folio, "status": locked.get_status_display().lower()},
            code="not_editable",
        )
    return locked
