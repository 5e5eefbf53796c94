"""What the surveys app does when a loan application changes state (loans knows nothing of it):
the moments a survey is sent, and the invitation made once the transition committed."""

import logging

from loans.workflow import ApplicationStatus
from surveys.models import SurveyKind
from surveys.services import SurveyError, invitation_create

logger = logging.getLogger(__name__)

# The moments a survey is sent: right after signing (two questions, while the experience is
# fresh) and once the money arrived (the whole experience).
KIND_AFTER = {
    ApplicationStatus.SIGNED: SurveyKind.SIGNING,
    ApplicationStatus.DISBURSED: SurveyKind.PAYMENT,
}


def invite_after_transition(sender, *, application, event, **kwargs) -> None:
    """A receiver of `loans.services.transition_committed`: the signature or the payment is
    already committed, and nothing that fails here can undo it (the signal is sent robustly and
    a failure is logged)."""
    kind = KIND_AFTER.get(event.to_status)
    if kind is None:
        return
    try:
        # Once per application and kind: signing again after a return finds the first one.
        invitation_create(application=application, kind=kind)
    except SurveyError as error:
        logger.warning("Sin invitación a encuesta para %s: %s", application.folio, error.message)
