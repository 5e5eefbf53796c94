"""The banner that reminds a signed-in applicant of a survey they have not answered.

Every page of the portal gets `pending_surveys`, a lazy list: it is read from the database (one
query) only when a template looks at it, so pages that do not show the banner, and the admin,
cost nothing. Anonymous visitors and the survey pages themselves get an empty list without a
query.
"""

from dataclasses import dataclass
from datetime import datetime

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from surveys.models import Invitation
from surveys.services import invitation_token

# Where the banner would only repeat the page it sits on.
SURVEY_PAGES = frozenset({"surveys:answer", "surveys:thanks"})


@dataclass(frozen=True)
class PendingSurvey:
    folio: str
    url: str
    expires_at: datetime


def survey_prompt(request: HttpRequest) -> dict[str, object]:
    return {"pending_surveys": SimpleLazyObject(lambda: _pending_surveys(request))}


def _pending_surveys(request: HttpRequest) -> list[PendingSurvey]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name in SURVEY_PAGES:
        return []
    invitations = (
        Invitation.objects.filter(
            application__applicant=user,
            answered_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("application")
        .only(
            "pk",
            "expires_at",
            "created_at",
            "application",
            "application__folio",
            "application__public_id",
        )
        .order_by("-created_at", "-pk")
    )
    return [
        PendingSurvey(
            folio=invitation.application.folio,
            url=reverse("surveys:answer", args=[invitation_token(invitation)]),
            expires_at=invitation.expires_at,
        )
        for invitation in invitations
    ]
