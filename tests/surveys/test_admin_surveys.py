"""Gerencia's questionnaires in the admin: versions, the active one, frozen once answered; and
the invitations, read-only."""

from html import unescape

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import NoReverseMatch, reverse

from surveys.models import Invitation, Survey, SurveyKind
from surveys.services import response_submit, survey_new_version
from tests.builders import signed_for
from tests.surveys.links import invitation_of


def text(response) -> str:
    return unescape(response.content.decode())


def active(kind: str) -> Survey:
    return Survey.objects.get(kind=kind, is_active=True)


def changelist_url() -> str:
    return reverse("admin:surveys_survey_changelist")


def change_url(survey: Survey) -> str:
    return reverse("admin:surveys_survey_change", args=[survey.pk])


def run_action(client, action: str, *surveys: Survey):
    return client.post(
        changelist_url(),
        {"action": action, ACTION_CHECKBOX_NAME: [survey.pk for survey in surveys]},
        follow=True,
    )


def questions_of(survey: Survey) -> list[tuple]:
    return list(
        survey.questions.order_by("position").values_list(
            "position", "code", "text", "type", "required"
        )
    )


def change_form(survey: Survey, **changes) -> dict:
    """The change form as the page sends it, with its questions unchanged."""
    questions = list(survey.questions.order_by("position", "pk"))
    data = {
        "title": survey.title,
        "introduction": survey.introduction,
        "questions-TOTAL_FORMS": str(len(questions)),
        "questions-INITIAL_FORMS": str(len(questions)),
        "questions-MIN_NUM_FORMS": "0",
        "questions-MAX_NUM_FORMS": "1000",
    }
    for index, question in enumerate(questions):
        prefix = f"questions-{index}-"
        data.update(
            {
                f"{prefix}id": str(question.pk),
                f"{prefix}survey": str(survey.pk),
                f"{prefix}position": str(question.position),
                f"{prefix}code": question.code,
                f"{prefix}text": question.text,
                f"{prefix}type": question.type,
                f"{prefix}required": "on" if question.required else "",
            }
        )
    data.update(changes)
    return data


def test_a_manager_sees_the_surveys_and_their_versions(manager):
    response = manager.get(changelist_url())

    assert response.status_code == 200
    page = text(response)
    assert "Después del pago · v1" in page
    assert "Después de firmar · v1" in page
    assert "Crear nueva versión" in page
    assert "Hacer vigente" in page


def test_a_new_version_copies_the_questions_and_is_not_active(manager):
    payment = active(SurveyKind.PAYMENT)

    response = run_action(manager, "new_version", payment)

    assert response.status_code == 200
    copy = Survey.objects.get(kind=SurveyKind.PAYMENT, version=2)
    assert copy.is_active is False
    assert copy.title == payment.title
    assert questions_of(copy) == questions_of(payment)
    assert active(SurveyKind.PAYMENT) == payment
    assert "Se creó la versión 2 de «Después del pago»" in text(response)


def test_making_a_version_active_replaces_the_previous_one(manager):
    first = active(SurveyKind.SIGNING)
    second = survey_new_version(survey=first)

    response = run_action(manager, "activate", second)

    assert "La versión 2 de «Después de firmar» es ahora la vigente" in text(response)
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.is_active is True
    assert first.is_active is False
    # and the other kind keeps its own
    assert active(SurveyKind.PAYMENT).version == 1


def test_new_invitations_use_the_active_version(manager, applicant):
    second = survey_new_version(survey=active(SurveyKind.SIGNING))
    run_action(manager, "activate", second)

    invitation = invitation_of(signed_for(applicant))

    assert invitation.survey == second


def test_two_versions_of_the_same_kind_cannot_both_be_made_active(manager):
    first = active(SurveyKind.SIGNING)
    second = survey_new_version(survey=first)

    response = run_action(manager, "activate", first, second)

    assert "Elige una sola versión de cada momento" in text(response)
    second.refresh_from_db()
    assert second.is_active is False
    assert active(SurveyKind.SIGNING) == first


def test_a_version_without_questions_cannot_be_made_active(manager):
    empty = survey_new_version(survey=active(SurveyKind.SIGNING))
    empty.questions.all().delete()

    response = run_action(manager, "activate", empty)

    assert "no tiene preguntas" in text(response)
    empty.refresh_from_db()
    assert empty.is_active is False


def test_an_unanswered_version_can_be_edited_but_not_its_number_or_vigency(manager):
    survey = survey_new_version(survey=active(SurveyKind.PAYMENT))

    form = manager.get(change_url(survey))
    assert 'name="title"' in form.content.decode()
    assert 'name="questions-0-text"' in form.content.decode()

    response = manager.post(
        change_url(survey),
        change_form(
            survey,
            title="Tu opinión sobre el préstamo",
            version="9",
            is_active="on",
            **{"questions-0-text": "¿Qué tan satisfecho estás, en general?"},
        ),
    )

    assert response.status_code == 302, text(response)
    survey.refresh_from_db()
    assert survey.title == "Tu opinión sobre el préstamo"
    assert survey.questions.get(code="satisfaccion").text == (
        "¿Qué tan satisfecho estás, en general?"
    )
    assert survey.version == 2
    assert survey.is_active is False


def test_a_version_with_responses_is_read_only_questions_included(manager, applicant):
    invitation = invitation_of(signed_for(applicant))
    response_submit(
        invitation=invitation,
        data={"firma_facilidad": "5", "firma_oficina": "0"},
        contact_consent=False,
    )
    survey = invitation.survey
    before = questions_of(survey)

    page = manager.get(change_url(survey))

    # then the page shows it without fields to edit, and says why and what to do instead
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="title"' not in html
    assert 'name="questions-0-text"' not in html
    assert "ya tiene respuestas y no se puede modificar" in text(page)
    assert "Crear nueva versión" in text(page)
    # and a change sent anyway is refused
    refused = manager.post(change_url(survey), change_form(survey, title="Otra"))
    assert refused.status_code == 403
    survey.refresh_from_db()
    assert survey.title != "Otra"
    assert questions_of(survey) == before
    # while a new version of it can still be made
    run_action(manager, "new_version", survey)
    assert questions_of(Survey.objects.get(kind=SurveyKind.SIGNING, version=2)) == before


def test_a_survey_added_from_scratch_is_the_next_inactive_version(manager):
    response = manager.post(
        reverse("admin:surveys_survey_add"),
        {
            "kind": SurveyKind.SIGNING,
            "title": "Firma",
            "introduction": "",
            "questions-TOTAL_FORMS": "1",
            "questions-INITIAL_FORMS": "0",
            "questions-MIN_NUM_FORMS": "0",
            "questions-MAX_NUM_FORMS": "1000",
            "questions-0-position": "1",
            "questions-0-code": "firma_facilidad",
            "questions-0-text": "¿Fue fácil firmar?",
            "questions-0-type": "escala_1_5",
            "questions-0-required": "on",
        },
    )

    assert response.status_code == 302, text(response)
    added = Survey.objects.get(title="Firma")
    assert added.version == 2
    assert added.is_active is False
    assert added.questions.count() == 1


@pytest.mark.parametrize("persona", ["analyst", "authorizer", "treasurer"])
def test_other_staff_do_not_manage_surveys(persona, request):
    client = request.getfixturevalue(persona)

    assert client.get(changelist_url()).status_code == 403
    run_action(client, "new_version", active(SurveyKind.PAYMENT))
    assert Survey.objects.count() == 2


# --- Invitations ------------------------------------------------------------------------------


def test_a_manager_follows_the_invitations_read_only(manager, applicant):
    invitation = invitation_of(signed_for(applicant))
    changelist = reverse("admin:surveys_invitation_changelist")

    listing = manager.get(changelist)
    pending = manager.get(changelist, {"estado": "pendiente"})
    answered = manager.get(changelist, {"estado": "respondida"})

    assert listing.status_code == 200
    assert invitation.application.folio in text(listing)
    assert "Después de firmar" in text(listing)
    assert invitation.application.folio in text(pending)
    assert invitation.application.folio not in text(answered)
    # nothing to add, change or delete
    assert manager.get(reverse("admin:surveys_invitation_add")).status_code == 403
    detail = manager.get(reverse("admin:surveys_invitation_change", args=[invitation.pk]))
    assert detail.status_code == 200
    assert 'name="expires_at"' not in detail.content.decode()
    delete = reverse("admin:surveys_invitation_delete", args=[invitation.pk])
    assert manager.post(delete, {"post": "yes"}).status_code == 403
    assert Invitation.objects.filter(pk=invitation.pk).exists()


@pytest.mark.parametrize("model", ["response", "answer"])
def test_answers_have_no_admin_page(model):
    with pytest.raises(NoReverseMatch):
        reverse(f"admin:surveys_{model}_changelist")
