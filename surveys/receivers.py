"""What the surveys app does when a loan application changes state (loans knows nothing of it).

`loans.services.transition_recorded` is sent inside each transition's transaction, with the
locked application already in its new state. The invitation is written in that transaction, so
it exists exactly when the transition does; its email waits for the commit.
"""

import logging

from loans.models import ApplicationStatus
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
    kind = KIND_AFTER.get(event.to_status)
    if kind is None:
        return
    try:
        # Once per application and kind: signing again after a return finds the first one.
        invitation_create(application=application, kind=kind)
    except SurveyError as error:
        # A missing questionnaire must never stop a payment or a signature from being recorded.
        logger.warning("Sin invitación a encuesta para %s: %s", application.folio, error.message)
