"""The applicant hears of every change of their application, once, by email and in the portal."""

from django.core import mail
from django.urls import reverse
from django_q.models import OrmQ

from loans.models import ApplicationEvent, Notification
from loans.services import (
    application_return,
    application_sign,
    application_take_for_review,
)
from loans.tasks import notify_event
from tests.builders import complete_draft_for


def sign(application, applicant):
    """The signature's transition, not committed: each test says what the commit runs."""
    return application_sign(
        application=application, actor=applicant.user, document_sha256="0" * 64, ip_address=None
    )


def last_event(application) -> ApplicationEvent:
    return application.events.order_by("sequence").last()


def test_a_transition_queues_the_notice_only_after_it_commits(
    complete_draft, applicant, django_capture_on_commit_callbacks
):
    from surveys.models import Invitation

    with django_capture_on_commit_callbacks(execute=True):
        sign(complete_draft, applicant)
        # Before the commit: no task queued, no invitation to the survey (surveys app).
        assert not OrmQ.objects.exists()
        assert not Invitation.objects.exists()
    # The commit: the notice's task, and the other apps' turn (the survey's invitation, whose
    # email is queued in turn).
    queued = sorted(task.func() for task in OrmQ.objects.all())
    assert queued == ["loans.tasks.notify_event", "surveys.tasks.invitation_send"]
    assert Invitation.objects.filter(application=complete_draft).count() == 1


def test_creating_a_draft_is_not_notified(applicant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        complete_draft_for(applicant)
    assert callbacks == []


def test_the_notice_is_emailed_once_in_spanish_with_a_link(complete_draft, applicant, settings):
    settings.PORTAL_BASE_URL = "https://prestamos.example.gob.mx"
    sign(complete_draft, applicant)
    event = last_event(complete_draft)

    assert notify_event(event.pk) is True
    assert notify_event(event.pk) is False  # a retried or duplicated task sends nothing more

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert complete_draft.folio in message.subject
    assert "firmada" in message.subject
    assert "Recibimos tu solicitud firmada" in message.body
    url = "https://prestamos.example.gob.mx" + reverse(
        "loans:application_detail", args=[complete_draft.public_id]
    )
    assert url in message.body
    assert message.to == [complete_draft.email]
    assert Notification.objects.get(event=event).emailed_at is not None


def test_the_reason_of_a_return_reaches_the_applicant(complete_draft, applicant, analyst):
    sign(complete_draft, applicant)
    application_take_for_review(application=complete_draft, actor=analyst.user, ip_address=None)
    notify_event(last_event(complete_draft).pk)
    application_return(
        application=complete_draft,
        actor=analyst.user,
        reason="La identificación está borrosa.",
        ip_address=None,
    )
    notify_event(last_event(complete_draft).pk)
    assert "Motivo: La identificación está borrosa." in mail.outbox[-1].body
    # The review's own note is internal: not in its email.
    assert "Tomada para revisión" not in mail.outbox[0].body


def test_unread_notices_show_in_mis_solicitudes_until_the_application_is_opened(
    complete_draft, applicant
):
    sign(complete_draft, applicant)
    notify_event(last_event(complete_draft).pk)

    listing = applicant.get(reverse("loans:application_list")).content.decode()
    assert f"Tu solicitud {complete_draft.folio}: firmada" in listing

    applicant.get(reverse("loans:application_detail", args=[complete_draft.public_id]))

    listing = applicant.get(reverse("loans:application_list")).content.decode()
    assert f"Tu solicitud {complete_draft.folio}: firmada" not in listing


def test_nobody_else_sees_the_notice(complete_draft, applicant, other_applicant):
    sign(complete_draft, applicant)
    notify_event(last_event(complete_draft).pk)
    listing = other_applicant.get(reverse("loans:application_list")).content.decode()
    assert complete_draft.folio not in listing


def test_analysts_get_one_digest_of_new_signed_applications(
    complete_draft, applicant, analyst, authorizer, other_applicant
):
    from loans.tasks import staff_digest

    sign(complete_draft, applicant)
    other = complete_draft_for(other_applicant)
    sign(other, other_applicant)

    assert staff_digest() == 2
    assert staff_digest() == 0  # the same applications are never announced twice

    [digest] = [message for message in mail.outbox if analyst.user.email in message.to]
    assert authorizer.user.email not in digest.to
    assert "2 solicitudes firmadas" in digest.subject
    assert complete_draft.folio in digest.body
    assert other.folio in digest.body
    assert "/admin/loans/loanapplication/?status__exact=signed" in digest.body


def test_the_digest_goes_to_whoever_may_review_whatever_their_group_is_called(
    complete_draft, applicant, staff
):
    """The recipients are the holders of the review permission (through a group or their own),
    never a group's name: renaming «Analistas» must not silence the digest."""
    from django.contrib.auth.models import Group, Permission

    from loans.tasks import staff_digest
    from tests.factories import UserFactory

    Group.objects.filter(name="Analistas").update(name="Mesa de revisión")
    renamed = UserFactory(is_staff=True, email="mesa@example.org")
    renamed.groups.add(Group.objects.get(name="Mesa de revisión"))
    direct = UserFactory(is_staff=True, email="directo@example.org")
    direct.user_permissions.add(Permission.objects.get(codename="review_loanapplication"))
    UserFactory(is_staff=True, email="sin-permiso@example.org")
    UserFactory(is_staff=True, is_active=False, email="de-baja@example.org").groups.add(
        Group.objects.get(name="Mesa de revisión")
    )
    sign(complete_draft, applicant)

    assert staff_digest() == 1

    [digest] = mail.outbox
    # Superusers (the `staff` persona) may do everything, but the digest is the analysts'.
    assert sorted(digest.to) == ["directo@example.org", "mesa@example.org"]
