"""A signing session signs the contract it prepared, or nothing.

Prepared, then the draft edited (CLABE, email, phone, amount, term, product), confirmed again and
finished with the first session and a good signature: the finish is a 409 `contract_changed`,
nothing is signed nor stored, and signing again from the start signs the contract as it is now.
Through the real endpoints (prepare, the wizard's steps, finish), signing with the demo e.firma.
"""

import base64
from io import BytesIO

import pytest
from pypdf import PdfReader

from loans.models import ApplicationStatus, LoanApplication
from signatures.models import SignedDocument, SigningSession
from tests.builders import VALID_CLABE, with_check_digit
from tests.loans.addresses import step_url
from tests.loans.factories import LoanProductFactory
from tests.signatures.signing_api import finish, prepare, sign

# BBVA (012): another bank, another account.
OTHER_CLABE = with_check_digit("01218070123456789")
OTHER_EMAIL = "ana.nueva@example.org"
OTHER_PHONE = "4779876543"


def edit_clabe(client, application):
    response = client.post(step_url(application, 3), {"clabe": OTHER_CLABE, "account_is_own": "on"})
    assert response.status_code == 302, response.content


def edit_email(client, application):
    response = client.post(step_url(application, 2), {"phone": "4731234567", "email": OTHER_EMAIL})
    assert response.status_code == 302, response.content


def edit_phone(client, application):
    response = client.post(
        step_url(application, 2), {"phone": OTHER_PHONE, "email": "ana@example.org"}
    )
    assert response.status_code == 302, response.content


# The wizard has no step that changes the quote of a draft today; whoever changes it (staff's
# admin, a later step 1, a script), the contract it prints is not the one prepared.
def edit_amount(client, application):
    LoanApplication.objects.filter(pk=application.pk).update(amount=application.amount - 5000)


def edit_term(client, application):
    LoanApplication.objects.filter(pk=application.pk).update(quincenas=application.quincenas - 12)


def edit_product(client, application):
    other = LoanProductFactory(name="Préstamo de otra clase")
    LoanApplication.objects.filter(pk=application.pk).update(product=other)


def confirm(client, application):
    response = client.post(
        step_url(application, 5), {"privacy_accepted": "on", "terms_accepted": "on"}
    )
    assert response.status_code == 302, response.content
    application.refresh_from_db()
    assert application.completed_at is not None, "step 5 did not confirm the draft"


def prepared_signature(client, application, credentials) -> tuple[str, bytes]:
    response = prepare(client, application, credentials.certificate)
    assert response.status_code == 200, response.json()
    body = response.json()
    return body["session"], credentials.sign(base64.b64decode(body["signed_attributes"]))


def assert_refused_as_changed(response, application):
    assert response.status_code == 409, response.content
    body = response.json()
    assert body["error"] == "contract_changed"
    assert "cambi" in body["message"]
    assert "vuelve a firmar" in body["message"].lower()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT
    assert application.signed_at is None
    assert not SignedDocument.objects.exists()


@pytest.mark.parametrize(
    "edit",
    [edit_clabe, edit_email, edit_phone, edit_amount, edit_term, edit_product],
    ids=["clabe", "email", "phone", "amount", "term", "product"],
)
def test_a_session_prepared_before_an_edit_does_not_sign(
    applicant, complete_draft, demo_credentials, edit
):
    session, signature = prepared_signature(applicant, complete_draft, demo_credentials)
    edit(applicant, complete_draft)
    if complete_draft.__class__.objects.get(pk=complete_draft.pk).completed_at is not None:
        # An edit outside the wizard leaves it confirmed; the applicant reviews it again anyway.
        LoanApplication.objects.filter(pk=complete_draft.pk).update(completed_at=None)
    confirm(applicant, complete_draft)

    response = finish(applicant, complete_draft, session, signature)

    assert_refused_as_changed(response, complete_draft)


def test_after_the_refusal_signing_again_signs_the_contract_as_it_is_now(
    applicant, complete_draft, demo_credentials
):
    session, signature = prepared_signature(applicant, complete_draft, demo_credentials)
    edit_clabe(applicant, complete_draft)
    confirm(applicant, complete_draft)
    assert_refused_as_changed(finish(applicant, complete_draft, session, signature), complete_draft)

    _body, finished = sign(applicant, complete_draft, demo_credentials)

    assert finished.status_code == 200, finished.json()
    complete_draft.refresh_from_db()
    assert complete_draft.status == ApplicationStatus.SIGNED
    assert complete_draft.clabe == OTHER_CLABE
    [document] = SignedDocument.objects.all()
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(document.file.read())).pages)
    assert OTHER_CLABE in text.replace(" ", "")
    assert VALID_CLABE not in text.replace(" ", "")


def test_an_edit_undone_before_confirming_still_ends_the_session(
    applicant, complete_draft, demo_credentials
):
    """The same data in the end, but the draft was edited and confirmed again: the applicant
    signs what they confirmed last, from a session prepared after it."""
    session, signature = prepared_signature(applicant, complete_draft, demo_credentials)
    edit_clabe(applicant, complete_draft)
    response = applicant.post(
        step_url(complete_draft, 3), {"clabe": VALID_CLABE, "account_is_own": "on"}
    )
    assert response.status_code == 302
    confirm(applicant, complete_draft)

    assert_refused_as_changed(finish(applicant, complete_draft, session, signature), complete_draft)
    assert SigningSession.objects.get().invalidated_at is not None


def test_an_edit_without_confirming_again_is_refused_as_changed_too(
    applicant, complete_draft, demo_credentials
):
    session, signature = prepared_signature(applicant, complete_draft, demo_credentials)
    edit_phone(applicant, complete_draft)

    response = finish(applicant, complete_draft, session, signature)

    assert_refused_as_changed(response, complete_draft)


def test_a_session_left_open_before_a_return_does_not_sign_the_corrected_draft(
    applicant, complete_draft, demo_credentials, analyst
):
    from loans.services import application_return, application_take_for_review

    # Two tabs: one prepared and left open, the other signed.
    stale_session, stale_signature = prepared_signature(applicant, complete_draft, demo_credentials)
    _body, finished = sign(applicant, complete_draft, demo_credentials)
    assert finished.status_code == 200
    application_take_for_review(application=complete_draft, actor=analyst.user, ip_address=None)
    application_return(
        application=complete_draft,
        actor=analyst.user,
        reason="La CLABE no es de una cuenta a tu nombre.",
        ip_address=None,
    )
    edit_clabe(applicant, complete_draft)
    confirm(applicant, complete_draft)

    response = finish(applicant, complete_draft, stale_session, stale_signature)

    assert response.status_code == 409, response.content
    assert response.json()["error"] == "contract_changed"
    complete_draft.refresh_from_db()
    assert complete_draft.status == ApplicationStatus.RETURNED
    assert SignedDocument.objects.count() == 1  # the first signature's, nothing new


def test_the_signing_page_explains_a_changed_contract_and_lets_the_applicant_start_again(
    applicant, complete_draft
):
    from django.urls import reverse

    page = applicant.get(reverse("loans:sign", args=[complete_draft.public_id])).content.decode()
    assert 'data-message="contract-changed"' in page
