"""Applications walked through the real services to the moments that invite to a survey.

Signing and paying go through `loans.services`, as the portal and the admin do, so the
invitations here are the ones `surveys.receivers` makes. The drafts' documents land in
MEDIA_ROOT, which the calling test points at a tmp_path.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections
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


@contextmanager
def committed(using: str = "default") -> Iterator[None]:
    """Run what the commit of the block's writes sets off (the survey invitation, the tasks
    queued), as a real request's commit would; the tests' own transaction never commits.

    The callbacks run are taken off the connection's list, so a test that captures the
    callbacks around a builder does not run them a second time."""
    connection = connections[using]
    start = len(connection.run_on_commit)
    yield
    while len(connection.run_on_commit) > start:
        _savepoints, callback, _robust = connection.run_on_commit.pop(start)
        callback()


def sign(application: LoanApplication, client) -> LoanApplication:
    return application_sign(
        application=application, actor=client.user, document_sha256="0" * 64, ip_address=None
    )


def signed_application(client) -> LoanApplication:
    """A complete draft of `client`'s applicant, signed by them (and the signature committed:
    its invitation to the survey is there)."""
    with committed():
        return sign(complete_draft_for(client, LoanProductFactory()), client)


def pay(application: LoanApplication, *, analyst, authorizer, treasurer) -> LoanApplication:
    """A signed application reviewed, approved and paid by three different staff members (each
    step committed)."""
    with committed():
        application_take_for_review(application=application, actor=analyst.user, ip_address=None)
    with committed():
        application_approve(application=application, actor=authorizer.user, ip_address=None)
    with committed():
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
