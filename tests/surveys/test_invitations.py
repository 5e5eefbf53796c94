"""Invitations to the satisfaction surveys: made by the signing and payment transitions, emailed
once after the commit, reminded once, never for what was answered or has expired."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import formats, timezone
from django_q.models import OrmQ, Schedule

from loans.services import (
    application_complete,
    application_return,
    application_sign,
    application_take_for_review,
)
from surveys.models import Invitation, QuestionType, Survey, SurveyKind
from surveys.services import invitation_token, response_submit
from surveys.tasks import invitation_send, invitations_remind
from tests.builders import complete_draft_for, pay, signed_for
from tests.logins import linked_applicant
from tests.surveys.links import invitation_of

T = QuestionType


def queued_invitation_emails() -> list[tuple]:
    """The arguments of every invitation email task waiting in django-q2's queue."""
    return [
        tuple(queued.task["args"])
        for queued in OrmQ.objects.all()
        if queued.task.get("func") == "surveys.tasks.invitation_send"
    ]


def emailed_days_ago(invitation: Invitation, days: int) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(
        emailed_at=timezone.now() - timedelta(days=days)
    )


# --- The questionnaires the portal starts with -------------------------------------------------


def test_the_payment_and_signing_surveys_are_active_from_the_start(db):
    payment = Survey.objects.get(kind=SurveyKind.PAYMENT, is_active=True)
    signing = Survey.objects.get(kind=SurveyKind.SIGNING, is_active=True)

    assert payment.version == 1
    assert list(payment.questions.values_list("code", "type", "required")) == [
        ("satisfaccion", T.SCALE_5, True),
        ("facilidad", T.SCALE_5, True),
        ("tiempo", T.SCALE_5, True),
        ("recomendacion", T.SCALE_10, True),
        ("oficina", T.YES_NO, True),
        ("comentario", T.TEXT, False),
    ]
    assert payment.questions.get(code="satisfaccion").text == (
        "En general, ¿qué tan satisfecho estás con el préstamo en línea?"
    )
    assert signing.version == 1
    assert list(signing.questions.values_list("type", flat=True)) == [T.SCALE_5, T.YES_NO]


# --- Made by the transitions -------------------------------------------------------------------


def test_signing_invites_to_the_signing_survey_and_queues_one_email(
    applicant, django_capture_on_commit_callbacks, settings
):
    settings.SURVEYS_INVITATION_DAYS = 30

    # when the applicant signs
    with django_capture_on_commit_callbacks(execute=True):
        application = signed_for(applicant)

    # then there is one invitation to the active signing survey, valid for 30 days
    invitation = Invitation.objects.get(application=application)
    assert invitation.kind == SurveyKind.SIGNING
    assert invitation.survey == Survey.objects.get(kind=SurveyKind.SIGNING, is_active=True)
    assert invitation.expires_at - invitation.created_at == timedelta(days=30)
    assert invitation.month == timezone.localdate(invitation.created_at).replace(day=1)
    assert invitation.emailed_at is None
    # and one email task for it waits in the queue
    assert queued_invitation_emails() == [(invitation.pk,)]


def test_payment_invites_to_the_payment_survey(
    applicant, analyst, authorizer, treasurer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        application = signed_for(applicant)
        pay(application, analyst=analyst, authorizer=authorizer, treasurer=treasurer)

    kinds = set(application.survey_invitations.values_list("kind", flat=True))
    assert kinds == {SurveyKind.SIGNING, SurveyKind.PAYMENT}
    payment = invitation_of(application, SurveyKind.PAYMENT)
    assert payment.survey.kind == SurveyKind.PAYMENT
    assert sorted(queued_invitation_emails()) == sorted(
        [(invitation_of(application).pk,), (payment.pk,)]
    )


def test_a_signature_that_rolls_back_leaves_no_invitation_and_no_email(
    applicant, django_capture_on_commit_callbacks
):
    draft = complete_draft_for(applicant)

    # when something after the signature fails in its transaction (storing the signed PDF)
    def sign_then_fail():
        with transaction.atomic():
            application_sign(
                application=draft, actor=applicant.user, document_sha256="0" * 64, ip_address=None
            )
            raise RuntimeError("the signed PDF could not be stored")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        sign_then_fail()

    # then neither the invitation nor its email exist
    assert not Invitation.objects.exists()
    assert queued_invitation_emails() == []


def test_a_returned_application_signed_again_gets_no_second_invitation(
    applicant, analyst, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        application = signed_for(applicant)
    first = invitation_of(application)

    # when staff return it and the applicant signs it again
    application_take_for_review(application=application, actor=analyst.user, ip_address=None)
    application_return(
        application=application,
        actor=analyst.user,
        reason="La identificación está borrosa.",
        ip_address=None,
    )
    application_complete(application=application, privacy_accepted=True, terms_accepted=True)
    with django_capture_on_commit_callbacks(execute=True):
        application_sign(
            application=application, actor=applicant.user, document_sha256="0" * 64, ip_address=None
        )

    # then the first invitation is still the only one, and no second email is queued
    assert list(application.survey_invitations.all()) == [first]
    assert queued_invitation_emails() == [(first.pk,)]


def test_without_an_active_survey_the_signature_is_still_recorded(applicant):
    Survey.objects.update(is_active=False)

    application = signed_for(applicant)

    application.refresh_from_db()
    assert application.status == "signed"
    assert not Invitation.objects.exists()


# --- The email -----------------------------------------------------------------------------------


def test_the_invitation_is_emailed_once_with_its_link(
    applicant, analyst, authorizer, treasurer, settings
):
    settings.PORTAL_BASE_URL = "https://prestamos.example.gob.mx"
    application = pay(
        signed_for(applicant), analyst=analyst, authorizer=authorizer, treasurer=treasurer
    )
    invitation = invitation_of(application, SurveyKind.PAYMENT)

    # when the task runs, and runs again (a retry, a duplicate)
    assert invitation_send(invitation.pk) is True
    assert invitation_send(invitation.pk) is False

    # then one email went to the applicant, in Spanish, with the link that needs no login
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [application.email]
    assert application.folio in message.subject
    url = f"https://prestamos.example.gob.mx/encuesta/{invitation_token(invitation)}/"
    assert url in message.body
    assert "Tu préstamo" in message.body
    assert "2 minutos" in message.body
    assert "no necesitas iniciar sesión" in message.body
    expires = formats.date_format(timezone.localtime(invitation.expires_at), "DATE_FORMAT")
    assert f"El enlace vence el {expires}" in message.body
    invitation.refresh_from_db()
    assert invitation.emailed_at is not None


def test_an_invitation_answered_from_the_portal_before_its_email_is_not_emailed(applicant):
    invitation = invitation_of(signed_for(applicant))
    response_submit(
        invitation=invitation,
        data={"firma_facilidad": "5", "firma_oficina": "0"},
        contact_consent=False,
    )

    assert invitation_send(invitation.pk) is False

    assert mail.outbox == []


# --- Reminders -----------------------------------------------------------------------------------


def test_one_reminder_after_the_configured_days_and_never_a_second(
    applicant, other_applicant, settings
):
    settings.SURVEYS_REMINDER_DAYS = 5
    due = invitation_of(signed_for(applicant))
    recent = invitation_of(signed_for(other_applicant))
    emailed_days_ago(due, 6)
    emailed_days_ago(recent, 4)

    # when the hourly schedule runs twice
    assert invitations_remind() == 1
    assert invitations_remind() == 0

    # then only the invitation emailed more than five days ago got one reminder
    assert len(mail.outbox) == 1
    reminder = mail.outbox[0]
    assert reminder.to == [due.application.email]
    assert "Recordatorio" in reminder.subject
    assert f"/encuesta/{invitation_token(due)}/" in reminder.body
    assert "2 minutos" in reminder.body
    due.refresh_from_db()
    recent.refresh_from_db()
    assert due.reminded_at is not None
    assert recent.reminded_at is None


def test_no_reminder_for_answered_expired_or_never_emailed_invitations(
    applicant, other_applicant, settings
):
    settings.SURVEYS_REMINDER_DAYS = 5
    answered = invitation_of(signed_for(applicant))
    response_submit(
        invitation=answered,
        data={"firma_facilidad": "4", "firma_oficina": "1"},
        contact_consent=False,
    )
    expired = invitation_of(signed_for(other_applicant))
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    for invitation in (answered, expired):
        emailed_days_ago(invitation, 10)
    # and one made ten days ago whose email never went out
    never_emailed = invitation_of(signed_for(linked_applicant()))
    Invitation.objects.filter(pk=never_emailed.pk).update(
        created_at=timezone.now() - timedelta(days=10)
    )

    assert invitations_remind() == 0
    assert mail.outbox == []


def test_the_reminders_are_scheduled_hourly(db):
    schedule = Schedule.objects.get(name="surveys.invitations_remind")
    assert schedule.func == "surveys.tasks.invitations_remind"
    assert schedule.schedule_type == Schedule.HOURLY
    assert schedule.repeats == -1


@pytest.mark.django_db(transaction=True)
def test_after_a_real_commit_the_queued_task_emails_the_invitation(applicant):
    # given a database emptied by an earlier transactional test, with its migration data back
    assert Survey.objects.filter(is_active=True).count() == 2

    # when the applicant signs, in a transaction that really commits
    application = signed_for(applicant)

    # then the invitation's email task is in the queue, and running it sends the email once
    invitation = invitation_of(application)
    assert queued_invitation_emails() == [(invitation.pk,)]
    assert invitation_send(invitation.pk) is True
    assert invitation_send(invitation.pk) is False
    assert [message.to for message in mail.outbox] == [[application.email]]
