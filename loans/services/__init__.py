"""Every write of a loan application and every change of its state.

- `transitions`: the one function that applies a move of `loans.workflow`, the audit chain,
  and the applicant's and the system's transitions;
- `wizard`: starting an application and saving the applicant's steps;
- `review`: what staff do with a signed application (review, return, reject, approve, pay).

Callers import from `loans.services`; the modules are how it is kept readable.
"""

from loans.services.review import (
    TransferData,
    TransferInvalid,
    application_approve,
    application_register_payment,
    application_reject,
    application_return,
    application_take_for_review,
    transfer_problems,
)
from loans.services.transitions import (
    ApplicationError,
    QuoteTerms,
    application_cancel,
    application_create,
    application_expire,
    application_sign,
    transition_committed,
    transition_recorded,
)
from loans.services.wizard import (
    ApplicationNotEligible,
    DocumentOutcome,
    StartOutcome,
    application_add_document,
    application_complete,
    application_save_bank_account,
    application_save_contact,
    application_start,
    application_steps_missing,
)

__all__ = [
    "ApplicationError",
    "ApplicationNotEligible",
    "DocumentOutcome",
    "QuoteTerms",
    "StartOutcome",
    "TransferData",
    "TransferInvalid",
    "application_add_document",
    "application_approve",
    "application_cancel",
    "application_complete",
    "application_create",
    "application_expire",
    "application_register_payment",
    "application_reject",
    "application_return",
    "application_save_bank_account",
    "application_save_contact",
    "application_sign",
    "application_start",
    "application_steps_missing",
    "application_take_for_review",
    "transfer_problems",
    "transition_committed",
    "transition_recorded",
]
