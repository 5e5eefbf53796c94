"""Importing applications that already happened, each with its whole history: the demo's
program history (`seed_demo --full`), or an earlier program's records moved into the portal.

An imported application is written as the transitions would have left it: its terms quoted
from the product's, its facts for the figures, its events appended to the audit chain with
their own (past) dates, and its SPEI payment. No email, notice, seal or survey follows: those
belong to the moment a transition happens, not to its record. The months it was received in
are marked for the figures to be recomputed (by the receivers of `transition_recorded`, as for
any event).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models.functions import Upper
from django.utils.translation import gettext as _

from affiliates.models import Affiliate
from loans.amortization import quote
from loans.models import LoanApplication, LoanProduct, Payment
from loans.services.transitions import (
    ApplicationError,
    QuoteTerms,
    application_create,
    transition,
)
from loans.workflow import ALLOWED_TRANSITIONS, ApplicationStatus

S = ApplicationStatus


@dataclass(frozen=True)
class HistoryStep:
    to_status: str
    at: datetime
    actor: AbstractBaseUser | None
    reason: str = ""


@dataclass(frozen=True)
class HistoricalApplication:
    applicant: AbstractBaseUser
    affiliate: Affiliate
    product: LoanProduct
    amount: Decimal
    quincenas: int
    received_at: datetime
    # After the draft that opens every history, in order; each must be an allowed transition.
    steps: tuple[HistoryStep, ...]
    clabe: str = ""
    bank_name: str = ""
    rejection_reason: str = ""
    # For a paid application: the transfer.
    paid_on: date | None = None
    spei_reference: str = ""


def applications_import(*, records: Sequence[HistoricalApplication]) -> list[LoanApplication]:
    """Write `records` in one transaction; all or nothing. Raises ApplicationError (nothing is
    written) when a history is not a path the state machine allows."""
    for record in records:
        _check_path(record)
    _check_references(records)
    with transaction.atomic():
        return [_import_one(record) for record in sorted(records, key=lambda r: r.received_at)]


def _check_path(record: HistoricalApplication) -> None:
    status = S.DRAFT
    moment = record.received_at
    for step in record.steps:
        if step.to_status not in ALLOWED_TRANSITIONS[status] or step.at < moment:
            raise ApplicationError(
                _("Historia no válida: de «%(from)s» a «%(to)s» el %(at)s.")
                % {"from": status, "to": step.to_status, "at": f"{step.at:%Y-%m-%d %H:%M}"}
            )
        status, moment = step.to_status, step.at
    if (status == S.DISBURSED) != (record.paid_on is not None):
        raise ApplicationError(_("Historia no válida: el pago y el estado «pagada» van juntos."))


def _check_references(records: Sequence[HistoricalApplication]) -> None:
    """One transfer pays one loan: a reference given twice, or already registered, is refused
    (the `payment_spei_reference_unique` constraint, said before anything is written)."""
    seen: dict[str, str] = {}
    for record in records:
        key = record.spei_reference.upper()
        if key and key in seen:
            raise _reference_repeated(record.spei_reference)
        if key:
            seen[key] = record.spei_reference
    registered = (
        Payment.objects.annotate(key=Upper("spei_reference"))
        .filter(key__in=list(seen))
        .values_list("key", flat=True)
        .first()
    )
    if registered is not None:
        raise _reference_repeated(seen[registered])


def _reference_repeated(reference: str) -> ApplicationError:
    return ApplicationError(
        _("Historia no válida: la referencia SPEI %(reference)s ya es de otro pago.")
        % {"reference": reference}
    )


def _import_one(record: HistoricalApplication) -> LoanApplication:
    product = record.product
    terms = quote(
        amount=record.amount,
        annual_rate=product.annual_rate,
        quincenas=record.quincenas,
        convention=product.interest_convention,
        fund_rate=product.fund_rate,
    )
    signed = [step for step in record.steps if step.to_status == S.SIGNED]
    actors = {step.to_status: step.actor for step in record.steps}
    affiliate = record.affiliate
    # The draft as the applicant left it, with what the later steps record (who reviewed and
    # approved, when it was signed): the transitions below only move its state.
    application = application_create(
        applicant=record.applicant,
        affiliate=affiliate,
        product=product,
        terms=QuoteTerms(
            amount=record.amount,
            quincenas=record.quincenas,
            annual_rate=product.annual_rate,
            interest_convention=product.interest_convention,
            fund_rate=product.fund_rate,
            payment=terms.payment,
            cat=terms.cat,
            previous_balance=Decimal("0.00"),
            net_to_receive=record.amount,
        ),
        ip_address=None,
        at=record.received_at,
        email=affiliate.email,
        phone=affiliate.phone[-10:],
        clabe=record.clabe,
        bank_name=record.bank_name,
        account_is_own=bool(record.clabe),
        completed_step=5 if signed else 1,
        completed_at=signed[0].at if signed else None,
        privacy_accepted_at=record.received_at,
        terms_accepted_at=signed[0].at if signed else None,
        signed_at=signed[-1].at if signed else None,
        rejection_reason=record.rejection_reason,
        analyst=actors.get(S.IN_REVIEW),
        approver=actors.get(S.APPROVED),
    )
    for step in record.steps:
        transition(
            application=application,
            to_status=step.to_status,
            actor=step.actor,
            reason=step.reason,
            ip_address=None,
            historical_at=step.at,
        )
    if record.paid_on is not None:
        Payment.objects.create(
            application=application,
            spei_reference=record.spei_reference,
            paid_on=record.paid_on,
            amount=record.amount,
            clabe=record.clabe,
            registered_by=actors[S.DISBURSED],
            registered_at=record.steps[-1].at,
        )
    return application
