"""What staff do with a signed application: review, return, reject, approve, pay.

Each action is one transition (`transitions.transition`: lock, the moves and permissions of
`loans.workflow`, audit event with actor, reason and IP, effects after commit) and checks, on
the locked row, what else the action needs:

- Analistas (`loans.review_loanapplication`) take for review, return for correction, reject;
- Autorizadores (`loans.approve_loanapplication`) approve, and not an application they
  reviewed themselves (LOANS_SEPARATION_OF_DUTIES, on by default);
- Tesorería (`loans.pay_loanapplication`) register the SPEI transfer, whose amount and CLABE
  must be the application's.

Refusals are `ApplicationError`s with a message for the person; the admin shows them.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from django.utils.translation import gettext as _

from isseg_portal.formatting import pesos
from isseg_portal.plain_text import text_clean
from loans.models import LoanApplication, Payment, RejectionReason
from loans.services.transitions import (
    ApplicationError,
    transition,
    transition_permission_check,
)
from loans.workflow import ApplicationStatus


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
            raise ApplicationError(
                _(
                    "Tú revisaste la solicitud %(folio)s: otra persona debe aprobarla "
                    "(separación de funciones)."
                )
                % {"folio": locked.folio}
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


def application_register_payment(
    *,
    application: LoanApplication,
    actor: AbstractBaseUser,
    transfer: TransferData,
    ip_address: str | None,
) -> LoanApplication:
    transition_permission_check(actor=actor, to_status=ApplicationStatus.DISBURSED)
    reference = text_clean(transfer.spei_reference).strip()
    if not reference:
        raise ApplicationError(_("Escribe la referencia de la transferencia SPEI."))
    if transfer.paid_on > timezone.localdate():
        raise ApplicationError(_("La fecha de pago no puede ser futura."))

    def record(locked: LoanApplication) -> list[str]:
        if transfer.amount != locked.net_to_receive:
            raise ApplicationError(
                _("El monto pagado (%(paid)s) debe ser el monto a recibir (%(net)s).")
                % {"paid": pesos(transfer.amount), "net": pesos(locked.net_to_receive)}
            )
        if transfer.clabe.strip() != locked.clabe:
            raise ApplicationError(
                _("La CLABE de destino no es la de la solicitud (terminación %(last)s).")
                % {"last": locked.clabe[-4:]}
            )
        Payment.objects.create(
            application=locked,
            spei_reference=reference,
            paid_on=transfer.paid_on,
            amount=transfer.amount,
            clabe=locked.clabe,
            registered_by=actor,
            registered_at=timezone.now(),
        )
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
