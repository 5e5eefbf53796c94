"""An application's invitations to the surveys, and the addresses their links open."""

from django.urls import reverse

from loans.models import LoanApplication
from surveys.models import Invitation, SurveyKind
from surveys.services import invitation_token


def invitation_of(application: LoanApplication, kind: str = SurveyKind.SIGNING) -> Invitation:
    return Invitation.objects.get(application=application, kind=kind)


def answer_url(invitation: Invitation) -> str:
    return reverse("surveys:answer", args=[invitation_token(invitation)])


def thanks_url(invitation: Invitation) -> str:
    return reverse("surveys:thanks", args=[invitation_token(invitation)])
