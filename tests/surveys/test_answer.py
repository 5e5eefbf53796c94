"""The survey page an invitation's link opens, and the banner that leads there from the portal."""

import re
import time

import pytest
from django.core import signing
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import formats, timezone

from surveys.context_processors import survey_prompt
from surveys.models import Answer, Invitation, Response, SurveyKind
from surveys.services import invitation_token, response_submit
from tests.builders import pay, signed_for
from tests.pages import text
from tests.surveys.links import answer_url, invitation_of, thanks_url

COMPLETE = {
    "satisfaccion": "5",
    "facilidad": "4",
    "tiempo": "3",
    "recomendacion": "10",
    "oficina": "0",
    "comentario": "Todo muy claro.\r\nGracias.",
    "contact_consent": "on",
}


@pytest.fixture
def payment_invitation(applicant, analyst, authorizer, treasurer) -> Invitation:
    application = pay(
        signed_for(applicant), analyst=analyst, authorizer=authorizer, treasurer=treasurer
    )
    return invitation_of(application, SurveyKind.PAYMENT)


@pytest.fixture
def signing_invitation(applicant) -> Invitation:
    return invitation_of(signed_for(applicant))


def checked(response, name: str) -> list[str]:
    """The values of the checked inputs called `name`."""
    inputs = re.findall(rf'<input[^>]*name="{name}"[^>]*>', response.content.decode())
    return [
        re.search(r'value="([^"]*)"', tag).group(1) if "value=" in tag else "on"
        for tag in inputs
        if " checked" in tag
    ]


# --- The page ------------------------------------------------------------------------------------


def test_the_link_shows_the_questions_to_someone_not_logged_in(payment_invitation):
    # when the applicant opens the link from the email on a phone, without logging in
    response = Client().get(answer_url(payment_invitation))

    # then the questions of the payment survey are there, about their application
    assert response.status_code == 200
    page = text(response)
    assert payment_invitation.application.folio in page
    for question in payment_invitation.survey.questions.all():
        assert question.text in page
    # each question is a fieldset with a legend; the scales say what their ends mean
    html = response.content.decode()
    assert html.count("<fieldset") == 6
    assert html.count("<legend") == 6
    assert "1 = Muy insatisfecho … 5 = Muy satisfecho" in page
    assert "1 = Muy difícil … 5 = Muy fácil" in page
    assert "0 = Nada probable … 10 = Muy probable" in page
    assert len(re.findall(r'type="radio" name="recomendacion"', html)) == 11
    assert len(re.findall(r'type="radio" name="oficina"', html)) == 2
    assert re.search(r'<textarea name="comentario"[^>]*maxlength="1000"', html)
    # the consent is asked, unchecked, and says what happens without it
    assert "Acepto que el Instituto me contacte sobre mi comentario" in page
    assert "sin tu nombre" in page
    assert checked(response, "contact_consent") == []
    assert "2 minutos" in page
    assert 'name="csrfmiddlewaretoken"' in html


def test_the_signing_survey_asks_its_two_questions(signing_invitation):
    response = Client().get(answer_url(signing_invitation))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<fieldset") == 2
    assert "¿Qué tan fácil fue llenar y firmar tu solicitud en línea?" in text(response)
    # no comment, so no consent to ask for
    assert "contact_consent" not in html


# --- Answering -----------------------------------------------------------------------------------


def test_a_complete_answer_is_stored_once(payment_invitation):
    # when the applicant answers everything and agrees to be contacted
    response = Client().post(answer_url(payment_invitation), COMPLETE)

    # then they are thanked
    assert response.status_code == 302
    assert response["Location"] == thanks_url(payment_invitation)
    thanks = Client().get(response["Location"])
    assert thanks.status_code == 200
    assert "¡Gracias por responder!" in text(thanks)
    # and the database holds one response with its six answers
    stored = Response.objects.get()
    assert stored.invitation == payment_invitation
    assert stored.survey == payment_invitation.survey
    assert stored.contact_consent is True
    assert stored.month == timezone.localdate(stored.submitted_at).replace(day=1)
    answers = {answer.code: (answer.number, answer.text) for answer in stored.answers.all()}
    assert answers == {
        "satisfaccion": (5, ""),
        "facilidad": (4, ""),
        "tiempo": (3, ""),
        "recomendacion": (10, ""),
        "oficina": (0, ""),
        "comentario": (None, "Todo muy claro.\nGracias."),
    }
    assert set(Answer.objects.values_list("month", flat=True)) == {stored.month}
    payment_invitation.refresh_from_db()
    assert payment_invitation.answered_at == stored.submitted_at


def test_the_comment_is_optional_and_consent_without_one_means_nothing(payment_invitation):
    data = {**COMPLETE, "comentario": "   "}

    response = Client().post(answer_url(payment_invitation), data)

    assert response.status_code == 302
    stored = Response.objects.get()
    assert stored.answers.count() == 5
    assert not stored.answers.filter(code="comentario").exists()
    assert stored.contact_consent is False


def test_without_the_consent_box_the_comment_is_stored_anonymous(payment_invitation):
    data = {key: value for key, value in COMPLETE.items() if key != "contact_consent"}

    Client().post(answer_url(payment_invitation), data)

    assert Response.objects.get().contact_consent is False


def test_invalid_answers_come_back_with_a_message_each_and_keep_the_rest(payment_invitation):
    data = {
        **COMPLETE,
        "satisfaccion": "",
        "recomendacion": "11",
        "oficina": "tal vez",
        "comentario": "x" * 1001,
    }

    response = Client().post(answer_url(payment_invitation), data)

    # then the page comes back (400) saying, in Spanish, what is wrong with each answer
    assert response.status_code == 400
    page = text(response)
    assert "Revisa las respuestas marcadas" in page
    assert "Error: Elige una respuesta." in page
    assert "Error: Elige un número del 0 al 10." in page
    assert "Error: Elige sí o no." in page
    assert "Tu comentario tiene 1001 caracteres; el máximo es 1000." in page
    # with every other answer as it was chosen or written
    assert checked(response, "facilidad") == ["4"]
    assert checked(response, "tiempo") == ["3"]
    assert checked(response, "satisfaccion") == []
    assert "x" * 1001 in response.content.decode()
    assert checked(response, "contact_consent") == ["on"]
    # and nothing was stored
    assert not Response.objects.exists()
    payment_invitation.refresh_from_db()
    assert payment_invitation.answered_at is None


def test_the_answer_page_keeps_django_s_csrf_check(payment_invitation):
    client = Client(enforce_csrf_checks=True)

    response = client.post(answer_url(payment_invitation), COMPLETE)

    assert response.status_code == 403
    assert not Response.objects.exists()


# --- Links that no longer work -------------------------------------------------------------------


def test_a_used_link_says_when_it_was_answered(signing_invitation):
    data = {"firma_facilidad": "5", "firma_oficina": "1"}
    assert Client().post(answer_url(signing_invitation), data).status_code == 302
    signing_invitation.refresh_from_db()
    answered_on = formats.date_format(
        timezone.localtime(signing_invitation.answered_at), "DATE_FORMAT"
    )

    # when the link is opened, or sent, again
    again = Client().get(answer_url(signing_invitation))
    resent = Client().post(answer_url(signing_invitation), data)

    assert again.status_code == 410
    assert f"Ya respondiste esta encuesta el {answered_on}. ¡Gracias!" in text(again)
    assert resent.status_code == 410
    assert Response.objects.count() == 1


def test_an_expired_link_says_when_it_expired(signing_invitation):
    expired_at = timezone.now() - timezone.timedelta(minutes=1)
    Invitation.objects.filter(pk=signing_invitation.pk).update(expires_at=expired_at)
    expired_on = formats.date_format(timezone.localtime(expired_at), "DATE_FORMAT")

    shown = Client().get(answer_url(signing_invitation))
    sent = Client().post(
        answer_url(signing_invitation), {"firma_facilidad": "5", "firma_oficina": "1"}
    )

    assert shown.status_code == 410
    assert f"Este enlace venció el {expired_on}." in text(shown)
    assert sent.status_code == 410
    assert not Response.objects.exists()


@pytest.mark.parametrize("breakage", ["altered", "garbage", "other_salt", "unknown_invitation"])
def test_a_broken_link_is_not_found(signing_invitation, breakage):
    token = invitation_token(signing_invitation)
    fingerprint = signing_invitation.application.public_id.hex[:12]
    broken = {
        "altered": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "garbage": "no-es-un-token",
        # Signed by the same site for something else: not a survey link.
        "other_salt": signing.dumps([signing_invitation.pk, fingerprint]),
        "unknown_invitation": signing.dumps(
            [signing_invitation.pk + 1000, fingerprint], salt="surveys.invitation"
        ),
    }[breakage]

    response = Client().get(reverse("surveys:answer", args=[broken]))

    assert response.status_code == 404
    assert "El enlace de la encuesta no es válido" in text(response)


def test_a_link_answers_only_its_own_invitation(signing_invitation, other_applicant):
    other = invitation_of(signed_for(other_applicant))

    # when the other applicant's link is used, whoever is logged in and whatever is added
    response = Client().post(
        answer_url(other),
        {"firma_facilidad": "2", "firma_oficina": "1", "invitation": signing_invitation.pk},
    )

    # then only the other applicant's invitation is answered
    assert response.status_code == 302
    assert Response.objects.get().invitation == other
    signing_invitation.refresh_from_db()
    assert signing_invitation.answered_at is None


# --- The banner in the portal --------------------------------------------------------------------

BANNER = "Tienes una encuesta pendiente sobre tu préstamo"


def test_the_owner_sees_the_banner_on_the_portal_s_pages(signing_invitation, applicant):
    folio = signing_invitation.application.folio

    response = applicant.get(reverse("loans:application_list"))

    page = text(response)
    assert f"{BANNER} {folio}: Responder (2 minutos)" in page
    assert f'href="{answer_url(signing_invitation)}"' in response.content.decode()


def test_nobody_else_sees_the_banner(signing_invitation, other_applicant):
    assert BANNER not in text(other_applicant.get(reverse("loans:application_list")))
    assert BANNER not in text(Client().get(reverse("home")))


def test_the_banner_is_not_on_the_survey_page_and_goes_once_answered(signing_invitation, applicant):
    assert BANNER not in text(applicant.get(answer_url(signing_invitation)))

    response_submit(
        invitation=signing_invitation,
        data={"firma_facilidad": "5", "firma_oficina": "0"},
        contact_consent=False,
    )

    assert BANNER not in text(applicant.get(reverse("loans:application_list")))


def test_the_banner_of_an_expired_invitation_is_gone(signing_invitation, applicant):
    Invitation.objects.update(expires_at=timezone.now())

    assert BANNER not in text(applicant.get(reverse("loans:application_list")))


def test_the_banner_costs_one_query_and_none_unless_shown(
    signing_invitation, applicant, django_assert_num_queries
):
    request = RequestFactory().get("/")
    request.user = applicant.user

    with django_assert_num_queries(0):
        context = survey_prompt(request)
    with django_assert_num_queries(1):
        pending = list(context["pending_surveys"])
        assert bool(context["pending_surveys"])

    assert [survey.folio for survey in pending] == [signing_invitation.application.folio]


def test_an_invitation_always_gets_the_same_link(payment_invitation):
    from surveys.services import invitation_token

    first = invitation_token(payment_invitation)
    time.sleep(1.1)

    assert invitation_token(payment_invitation) == first
