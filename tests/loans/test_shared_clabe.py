"""A CLABE already in another affiliate's application: the applicant confirms it is theirs
(told nothing about the other person), and staff and Tesorería see it on the application and in
the payment batch."""

import csv
import io

import pytest
from django.urls import reverse

from loans import exports
from loans.services import (
    ApplicationError,
    application_cancel,
    application_save_bank_account,
)
from tests.builders import (
    VALID_CLABE,
    approve,
    draft_for,
    draft_with_account_for,
    signed_for,
    with_check_digit,
)
from tests.loans.addresses import step_url
from tests.logins import linked_applicant
from tests.pages import text

pytestmark = pytest.mark.usefixtures("institute_down")

CONFIRMATION = "Confirmo que esta CLABE es mía"
WARNING = "Esta CLABE ya aparece en la solicitud de otra persona"
OTHER_CLABE = with_check_digit("01218012345678901")


def at_step_3(client, product):
    application = draft_for(client, product)
    client.post(step_url(application, 2), {"phone": "4731234567", "email": "a@example.org"})
    return application


def another_affiliate_with(clabe: str = VALID_CLABE):
    """An application of another affiliate that saved `clabe` (the builders' default)."""
    other = linked_applicant()
    application = draft_for(other)
    application_save_bank_account(
        application=application, clabe=clabe, account_is_own=True, clabe_shared_confirmed=True
    )
    return other, application


# --- The applicant ----------------------------------------------------------------------------


def test_a_clabe_in_another_person_s_application_asks_for_a_confirmation(applicant, product):
    other, theirs = another_affiliate_with(VALID_CLABE)
    application = at_step_3(applicant, product)

    response = applicant.post(
        step_url(application, 3), {"clabe": VALID_CLABE, "account_is_own": "on"}
    )

    assert response.status_code == 400
    page = text(response)
    assert WARNING in page
    assert CONFIRMATION in page
    # What the applicant typed stays, and nothing of the other person is said.
    assert f'value="{VALID_CLABE}"' in response.content.decode()
    for secret in (
        theirs.folio,
        other.affiliate.full_name,
        other.affiliate.curp,
        other.affiliate.given_names,
    ):
        assert secret not in page
    # The step did not advance.
    application.refresh_from_db()
    assert (application.clabe, application.completed_step) == ("", 2)
    assert application.clabe_shared_confirmed_at is None


def test_confirming_saves_the_clabe_with_the_moment_of_the_confirmation(applicant, product):
    another_affiliate_with(VALID_CLABE)
    application = at_step_3(applicant, product)

    response = applicant.post(
        step_url(application, 3),
        {"clabe": VALID_CLABE, "account_is_own": "on", "clabe_shared_confirmed": "on"},
    )

    assert response.status_code == 302
    assert response.url == step_url(application, 4)
    application.refresh_from_db()
    assert application.clabe == VALID_CLABE
    assert application.completed_step == 3
    assert application.clabe_shared_confirmed_at is not None
    # Back on the step, the confirmation is shown as given.
    page = applicant.get(step_url(application, 3)).content.decode()
    assert CONFIRMATION in page
    assert "checked" in page


def test_the_service_refuses_a_shared_clabe_without_the_confirmation(applicant, product):
    another_affiliate_with(VALID_CLABE)
    application = at_step_3(applicant, product)

    with pytest.raises(ApplicationError, match=WARNING) as refused:
        application_save_bank_account(
            application=application, clabe=VALID_CLABE, account_is_own=True
        )

    assert refused.value.code == "clabe_shared"
    application.refresh_from_db()
    assert application.clabe == ""


def test_a_clabe_nobody_else_used_needs_no_confirmation(applicant, product):
    another_affiliate_with(OTHER_CLABE)
    application = at_step_3(applicant, product)

    response = applicant.post(
        step_url(application, 3), {"clabe": VALID_CLABE, "account_is_own": "on"}
    )

    assert response.status_code == 302
    application.refresh_from_db()
    assert application.clabe_shared_confirmed_at is None
    assert CONFIRMATION not in text(applicant.get(step_url(application, 3)))


def test_the_applicant_s_own_applications_and_cancelled_ones_do_not_count(applicant, product):
    # Their own earlier application with that CLABE, and another person's, cancelled
    draft_with_account_for(applicant, product)
    other, theirs = another_affiliate_with(VALID_CLABE)
    application_cancel(application=theirs, actor=other.user, ip_address=None)
    application = at_step_3(applicant, product)

    response = applicant.post(
        step_url(application, 3), {"clabe": VALID_CLABE, "account_is_own": "on"}
    )

    assert response.status_code == 302


def test_changing_to_a_clabe_nobody_else_has_clears_the_confirmation(applicant, product):
    another_affiliate_with(VALID_CLABE)
    application = at_step_3(applicant, product)
    application_save_bank_account(
        application=application, clabe=VALID_CLABE, account_is_own=True, clabe_shared_confirmed=True
    )

    application_save_bank_account(application=application, clabe=OTHER_CLABE, account_is_own=True)

    application.refresh_from_db()
    assert application.clabe == OTHER_CLABE
    assert application.clabe_shared_confirmed_at is None


# --- Staff ------------------------------------------------------------------------------------


def change_url(application) -> str:
    return reverse("admin:loans_loanapplication_change", args=[application.pk])


def shared_pair():
    """Two signed applications of two affiliates with the same CLABE (the second confirmed)."""
    first = signed_for(linked_applicant())
    second_client = linked_applicant()
    second = draft_for(second_client)
    application_save_bank_account(
        application=second, clabe=first.clabe, account_is_own=True, clabe_shared_confirmed=True
    )
    return first, second


def test_the_analyst_sees_the_shared_clabe_and_the_other_folios(analyst):
    first, second = shared_pair()

    page = text(analyst.get(change_url(first)))

    assert "CLABE compartida" in page
    assert "1 solicitud de otro afiliado" in page
    assert second.folio in page
    # The other page says the same, and that its applicant confirmed the CLABE.
    other_page = text(analyst.get(change_url(second)))
    assert first.folio in other_page
    assert "confirmó que la CLABE es suya" in other_page


def test_no_warning_when_the_clabe_is_only_theirs(analyst, signed):
    assert "CLABE compartida" not in text(analyst.get(change_url(signed)))


def test_the_payment_batch_has_a_shared_clabe_column(analyst, authorizer, treasurer):
    first, _second = shared_pair()
    alone = signed_for(linked_applicant())
    # the builders give a second affiliate a CLABE of its own
    assert alone.clabe != first.clabe
    approve(first, analyst=analyst, authorizer=authorizer)
    approve(alone, analyst=analyst, authorizer=authorizer)

    response = treasurer.get(reverse("tesoreria:payment_batch") + "?descargar=1")

    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    shared = {row["folio"]: row["clabe_compartida"] for row in rows}
    assert shared == {first.folio: "si", alone.folio: "no"}
    assert "clabe_compartida" in exports.PAYMENT_BATCH_HEADER
    page = text(treasurer.get(reverse("tesoreria:payment_batch")))
    assert "clabe_compartida" in page
    assert "La CLABE de 1 de ellos también está en la solicitud de otro afiliado" in page, page
