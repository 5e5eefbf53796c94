"""Applications walked through the real services to the moments that invite to a survey.

Signing and paying go through `loans.services`, as the portal and the admin do, so the
invitations here are the ones `surveys.receivers` makes. The drafts' documents land in
MEDIA_ROOT, which the calling test points at a tmp_path.
"""

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from loans.models import LoanApplication
from loans.services import (
    TransferData,
    application_approve,
    application_register_payment,
    application_sign,
    application_take_for_review,
)
from surveys.models import Invitation, SurveyKind
from surveys.services import invitation_token
from tests.factories import AffiliateLinkFactory
from tests.loans.drafts import complete_draft_for
from tests.loans.factories import LoanProductFactory


def linked_client() -> Client:
    """One more applicant, like the `applicant` persona, for tests that need a third one."""
    link = AffiliateLinkFactory()
    client = Client()
    client.force_login(link.user)
    client.user, client.affiliate = link.user, link.affiliate
    return client


def sign(application: LoanApplication, client) -> LoanApplication:
    return application_sign(
        application=application, actor=client.user, document_sha256="0" * 64, ip_address=None
    )


def signed_application(client) -> LoanApplication:
    """A complete draft of `client`'s applicant, signed by them."""
    return sign(complete_draft_for(client, LoanProductFactory()), client)


def pay(application: LoanApplication, *, analyst, authorizer, treasurer) -> LoanApplication:
    """A signed application reviewed, approved and paid by three different staff members."""
    application_take_for_review(application=application, actor=analyst.user, ip_address=None)
    application_approve(application=application, actor=authorizer.user, ip_address=None)
    return application_register_payment(
        application=application,
        actor=treasurer.user,
        transfer=TransferData(
            spei_reference="ISSEG20261121000123",
            paid_on=timezone.localdate(),
            amount=application.net_to_receive,
            clabe=application.clabe,
        ),
        ip_address=None,
    )


def invitation_of(application: LoanApplication, kind: str = SurveyKind.SIGNING) -> Invitation:
    return Invitation.objects.get(application=application, kind=kind)


def answer_url(invitation: Invitation) -> str:
    return reverse("surveys:answer", args=[invitation_token(invitation)])


def thanks_url(invitation: Invitation) -> str:
    return reverse("surveys:thanks", args=[invitation_token(invitation)])
