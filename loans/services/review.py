"""What staff do with a signed application: review, return, reject, approve, pay.

Each action is one transition (`transitions.transition`: lock, the moves and permissions of
`loans.workflow`, audit event with actor, reason and IP, effects after commit) and checks, on
the locked row, what else the action needs:

- Analistas (`loans.review_loanapplication`) take for review, return for correction, reject;
- Autorizadores (`loans.approve_loanapplication`) approve, and not an application they
  reviewed themselves (LOANS_SEPARATION_OF_DUTIES, on by default);
- Tesorería (`loans.pay_loanapplication`) register the SPEI transfer, whose amount and CLABE
  must be the application's, whose reference no other payment has, dated between the approval
  and today; under the same switch, not on an application they reviewed or approved.

Refusals are `ApplicationError`s with a message for the person; the admin shows them.
"""

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from isseg_portal.formatting import pesos
from isseg_portal.institute_time import INSTITUTE_TIME_ZONE
from isseg_portal.plain_text import text_clean
from loans.models import LoanApplication, Payment, RejectionReason
from loans.services.transitions import (
    ApplicationError,
    transition,
    transition_permission_check,
)
from loans.workflow import ApplicationStatus
from signatures.services import signing_sessions_invalidate

logger = logging.getLogger(__name__)


def application_take_for_review(
    *, application: LoanApplication, actor: AbstractBaseUser, ip_address: str | None
) -> LoanApplication:
    transition_permission_check(actor=actor, to_status=ApplicationStatus.IN_REVIEW)

    def assign(locked: LoanApplication) -> list[str]:
        locked.analyst = actor
        return ["analyst"]

    return transition(
        application=application,
        to_status=ApplicationStatus.IN_REVIEW,
        actor=actor,
        reason=_("Tomada para revisión."),
        ip_address=ip_address,
        before_save=assign,
    )


def application_return(
    *,
    application: LoanApplication,
    actor: AbstractBaseUser,
    reason: str,
    ip_address: str | None,
) -> LoanApplication:
    """Back to the applicant to correct and sign again; the reason is what they will read."""
    transition_permission_check(actor=actor, to_status=ApplicationStatus.RETURNED)
    reason = text_clean(reason or "", multiline=True).strip()
    if not reason:
        raise ApplicationError(_("Escribe qué debe corregir el solicitante."))

    def reopen(locked: LoanApplication) -> list[str]:
        # The applicant corrects, confirms the review step again and signs a new contract.
        locked.completed_at = None
        # A session prepared before (another tab) must not sign the corrected draft.
        signing_sessions_invalidate(reference=locked.folio)
        return ["completed_at"]

    return transition(
        application=application,
        to_status=ApplicationStatus.RETURNED,
        actor=actor,
        reason=reason,
        ip_address=ip_address,
        before_save=reopen,
    )


def application_reject(
    *,
    application: LoanApplication,
    actor: AbstractBaseUser,
    reason_code: str,
    details: str,
    ip_address: str | None,
) -> LoanApplication:
    transition_permission_check(actor=actor, to_status=ApplicationStatus.REJECTED)
    if reason_code not in RejectionReason.values:
        raise ApplicationError(_("Elige el motivo del rechazo."))
    details = text_clean(details or "", multiline=True).strip()
    if not details:
        raise ApplicationError(_("Explica el motivo del rechazo para el solicitante."))
    label = RejectionReason(reason_code).label

    def record(locked: LoanApplication) -> list[str]:
        locked.rejection_reason = reason_code
        return ["rejection_reason"]

    return transition(
        application=application,
        to_status=ApplicationStatus.REJECTED,
        actor=actor,
        reason=f"{label}: {details}",
        ip_address=ip_address,
        before_save=record,
    )


def application_approve(
    *, application: LoanApplication, actor: AbstractBaseUser, ip_address: str | None
) -> LoanApplication:
    """Approve; the institutional seal follows in a task once this commits."""
    transition_permission_check(actor=actor, to_status=ApplicationStatus.APPROVED)

    def check_duties(locked: LoanApplication) -> list[str]:
        if settings.LOANS_SEPARATION_OF_DUTIES and locked.analyst_id == actor.pk:
            _duties_refused(locked=locked, actor=actor, to_status=ApplicationStatus.APPROVED)
            raise ApplicationError(
                _(
                    "Tú revisaste la solicitud %(folio)s: otra persona debe aprobarla "
                    "(separación de funciones)."
                )
                % {"folio": locked.folio},
                code="separation_of_duties",
            )
        locked.approver = actor
        return ["approver"]

    return transition(
        application=application,
        to_status=ApplicationStatus.APPROVED,
        actor=actor,
        reason=_("Aprobada."),
        ip_address=ip_address,
        before_save=check_duties,
    )


@dataclass(frozen=True)
class TransferData:
    """The SPEI transfer as Tesorería types it."""

    spei_reference: str
    paid_on: date
    amount: Decimal
    clabe: str


class TransferInvalid(ApplicationError):
    """What Tesorería typed does not describe this loan's transfer: every problem found, by the
    form's field it belongs to (`errors`), so that the form can say them all at once."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(
            " ".join(message for field in errors.values() for message in field), code="invalid"
        )
        self.errors = errors


def transfer_problems(
    *,
    application: LoanApplication,
    spei_reference: str | None,
    paid_on: date | None,
    amount: Decimal | None,
    clabe: str | None,
) -> dict[str, list[str]]:
    """Every reason the transfer cannot be this approved loan's payment, by field; empty when
    it can. A value None was not read (the form already said why) and is not checked.

    - the reference is given and no other payment has it (any case);
    - the date is neither before the approval (the institute's day) nor in the future;
    - the amount and the CLABE are exactly the application's.
    """
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    if spei_reference is not None:
        reference = spei_reference.strip()
        if not reference:
            add("spei_reference", _("Escribe la referencia de la transferencia SPEI."))
        else:
            used = (
                Payment.objects.filter(spei_reference__iexact=reference)
                .exclude(application_id=application.pk)
                .select_related("application")
                .first()
            )
            if used is not None:
                add("spei_reference", _reference_used_message(reference, used.application.folio))
    if paid_on is not None:
        today = timezone.localdate(timezone=INSTITUTE_TIME_ZONE)
        approved_on = approval_day(application)
        if paid_on > today:
            add("paid_on", _("La fecha de pago no puede ser futura."))
        elif approved_on is not None and paid_on < approved_on:
            add(
                "paid_on",
                _(
                    "La fecha de pago (%(paid)s) no puede ser antes de la aprobación de la "
                    "solicitud (%(approved)s)."
                )
                % {
                    "paid": paid_on.strftime("%d/%m/%Y"),
                    "approved": approved_on.strftime("%d/%m/%Y"),
                },
            )
    if amount is not None and amount != application.net_to_receive:
        add(
            "amount",
            _("El monto pagado (%(paid)s) debe ser el monto a recibir (%(net)s).")
            % {"paid": pesos(amount), "net": pesos(application.net_to_receive)},
        )
    if clabe is not None and clabe.strip() != application.clabe:
        add(
            "clabe",
            _("La CLABE de destino no es la de la solicitud (terminación %(last)s).")
            % {"last": application.clabe[-4:]},
        )
    return problems


def approval_day(application: LoanApplication) -> date | None:
    """The institute's day of the application's latest approval (its audit event)."""
    approved_at = (
        application.events.filter(to_status=ApplicationStatus.APPROVED)
        .order_by("-sequence")
        .values_list("created_at", flat=True)
        .first()
    )
    if approved_at is None:
        return None
    return timezone.localtime(approved_at, INSTITUTE_TIME_ZONE).date()


def _reference_used_message(reference: str, folio: str) -> str:
    return _(
        "La referencia SPEI %(reference)s ya se registró como pago de la solicitud %(folio)s: "
        "una transferencia paga un solo préstamo. Revisa la referencia."
    ) % {"reference": reference, "folio": folio}


def application_register_payment(
    *,
    application: LoanApplication,
    actor: AbstractBaseUser,
    transfer: TransferData,
    ip_address: str | None,
) -> LoanApplication:
    """Record the SPEI transfer that paid an approved loan. Refused, besides what the state
    machine refuses: by the separation of duties (neither who reviewed nor who approved it
    registers its payment), and with every `transfer_problems` at once (`TransferInvalid`)."""
    transition_permission_check(actor=actor, to_status=ApplicationStatus.DISBURSED)
    reference = text_clean(transfer.spei_reference).strip()

    def record(locked: LoanApplication) -> list[str]:
        if settings.LOANS_SEPARATION_OF_DUTIES:
            _payer_check(locked=locked, actor=actor)
        problems = transfer_problems(
            application=locked,
            spei_reference=reference,
            paid_on=transfer.paid_on,
            amount=transfer.amount,
            clabe=transfer.clabe,
        )
        if problems:
            raise TransferInvalid(problems)
        try:
            # A savepoint: another payment with this reference committed after the look-up
            # above (two treasurers at once) leaves the transaction usable to refuse.
            with transaction.atomic():
                Payment.objects.create(
                    application=locked,
                    spei_reference=reference,
                    paid_on=transfer.paid_on,
                    amount=transfer.amount,
                    clabe=locked.clabe,
                    registered_by=actor,
                    registered_at=timezone.now(),
                )
        except IntegrityError:
            used = (
                Payment.objects.filter(spei_reference__iexact=reference)
                .exclude(application_id=locked.pk)
                .values_list("application__folio", flat=True)
                .first()
            )
            if used is None:
                raise
            raise TransferInvalid(
                {"spei_reference": [_reference_used_message(reference, used)]}
            ) from None
        return []

    return transition(
        application=application,
        to_status=ApplicationStatus.DISBURSED,
        actor=actor,
        reason=_("Pago SPEI %(reference)s del %(date)s por %(amount)s.")
        % {
            "reference": reference,
            "date": transfer.paid_on.strftime("%d/%m/%Y"),
            "amount": pesos(transfer.amount),
        },
        ip_address=ip_address,
        before_save=record,
    )


def _payer_check(*, locked: LoanApplication, actor: AbstractBaseUser) -> None:
    """Whoever reviewed or approved the loan does not register its payment, superusers too."""
    if locked.approver_id == actor.pk:
        message = _(
            "Tú aprobaste la solicitud %(folio)s: otra persona debe registrar su pago "
            "(separación de funciones)."
        )
    elif locked.analyst_id == actor.pk:
        message = _(
            "Tú revisaste la solicitud %(folio)s: otra persona debe registrar su pago "
            "(separación de funciones)."
        )
    else:
        return
    _duties_refused(locked=locked, actor=actor, to_status=ApplicationStatus.DISBURSED)
    raise ApplicationError(message % {"folio": locked.folio}, code="separation_of_duties")


def _duties_refused(*, locked: LoanApplication, actor: AbstractBaseUser, to_status: str) -> None:
    logger.warning(
        "Separación de funciones: %s no puede llevar %s a %s", actor.pk, locked.folio, to_status
    )
