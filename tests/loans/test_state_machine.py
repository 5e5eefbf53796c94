"""The application state machine and its audit chain."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from loans import audit
from loans.models import ApplicationEvent, ApplicationStatus, AuditChainHead, LoanApplication
from loans.services import (
    ApplicationError,
    application_cancel,
    application_create,
    application_expire,
)
from loans.workflow import ALLOWED_TRANSITIONS
from tests.loans.factories import EXAMPLE_TERMS as TERMS
from tests.loans.factories import LoanProductFactory


@pytest.fixture
def draft(applicant):
    return application_create(
        applicant=applicant.user,
        affiliate=applicant.affiliate,
        product=LoanProductFactory(),
        terms=TERMS,
        ip_address="203.0.113.7",
    )


def verify_audit() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_new_application_is_a_draft_with_a_folio_and_its_first_event(draft, applicant):
    year = timezone.localdate().year

    assert draft.status == ApplicationStatus.DRAFT
    assert draft.folio == f"PL-{year}-000001"
    event = draft.events.get()
    assert (event.from_status, event.to_status) == ("", ApplicationStatus.DRAFT)
    assert event.actor == applicant.user
    assert event.ip_address == "203.0.113.7"
    assert event.sequence == 1
    assert event.previous_hash == "0" * 64


@pytest.mark.django_db
def test_folios_are_consecutive_within_the_year(draft, applicant):
    second = application_create(
        applicant=applicant.user,
        affiliate=applicant.affiliate,
        product=draft.product,
        terms=TERMS,
        ip_address=None,
    )

    assert second.folio.endswith("-000002")
    assert second.public_id != draft.public_id


@pytest.mark.django_db
def test_cancelling_a_draft_records_who_when_and_why(draft, applicant):
    application_cancel(
        application=draft, actor=applicant.user, reason="Ya no lo necesito", ip_address="::1"
    )

    draft.refresh_from_db()
    assert draft.status == ApplicationStatus.CANCELLED
    event = draft.events.order_by("sequence").last()
    assert (event.from_status, event.to_status) == (
        ApplicationStatus.DRAFT,
        ApplicationStatus.CANCELLED,
    )
    assert event.reason == "Ya no lo necesito"
    assert event.actor == applicant.user
    assert event.created_at == draft.status_changed_at


@pytest.mark.django_db
def test_a_refused_transition_changes_nothing_and_says_why_in_spanish(draft, applicant):
    application_expire(application=draft)

    with pytest.raises(ApplicationError) as error:
        application_cancel(application=draft, actor=applicant.user, ip_address=None)

    assert "está vencida: no puede pasar a «cancelada»" in error.value.message
    draft.refresh_from_db()
    assert draft.status == ApplicationStatus.EXPIRED
    assert draft.events.count() == 2


@pytest.mark.django_db
def test_a_stale_instance_cannot_move_the_state_twice(draft, applicant):
    stale = LoanApplication.objects.get(pk=draft.pk)
    application_cancel(application=draft, actor=applicant.user, ip_address=None)

    # The copy loaded before the cancellation still says "draft"; the service re-reads it.
    with pytest.raises(ApplicationError):
        application_expire(application=stale)

    assert ApplicationEvent.objects.filter(application=draft).count() == 2


def test_terminal_states_allow_nothing_and_every_state_is_in_the_table():
    assert set(ALLOWED_TRANSITIONS) == set(ApplicationStatus.values)
    for state in ("disbursed", "rejected", "cancelled", "expired"):
        assert ALLOWED_TRANSITIONS[state] == frozenset()
    # Cancelling is the applicant's, before approval only.
    assert "cancelled" not in ALLOWED_TRANSITIONS["approved"]


@pytest.mark.django_db
def test_the_status_is_not_editable_in_forms():
    field = LoanApplication._meta.get_field("status")

    assert field.editable is False


@pytest.mark.django_db
def test_verify_audit_passes_on_an_untouched_chain(draft, applicant):
    application_cancel(application=draft, actor=applicant.user, ip_address="2001:DB8::1")

    assert "íntegra: 2 eventos verificados" in verify_audit()
    head = AuditChainHead.objects.get()
    assert head.last_sequence == 2


@pytest.mark.django_db
def test_verify_audit_passes_with_no_events():
    assert "íntegra: 0 eventos verificados" in verify_audit()


@pytest.mark.django_db
def test_verify_audit_names_an_edited_event(draft, applicant):
    application_cancel(application=draft, actor=applicant.user, ip_address=None)
    first = draft.events.get(sequence=1)
    ApplicationEvent.objects.filter(pk=first.pk).update(ip_address="198.51.100.1")

    with pytest.raises(CommandError, match=r"evento 1 \(id \d+\).*contenido no coincide"):
        verify_audit()


@pytest.mark.django_db
def test_verify_audit_names_the_event_after_a_deleted_one(draft, applicant):
    application_cancel(application=draft, actor=applicant.user, ip_address=None)
    other = application_create(
        applicant=applicant.user,
        affiliate=applicant.affiliate,
        product=draft.product,
        terms=TERMS,
        ip_address=None,
    )
    assert other.events.get().sequence == 3
    ApplicationEvent.objects.filter(sequence=2).delete()

    with pytest.raises(CommandError, match=r"evento 3 .*falta el evento 2"):
        verify_audit()


@pytest.mark.django_db
def test_verify_audit_notices_the_newest_event_deleted(draft, applicant):
    application_cancel(application=draft, actor=applicant.user, ip_address=None)
    ApplicationEvent.objects.filter(sequence=2).delete()

    with pytest.raises(CommandError, match=r"registra el evento 2.*el 1"):
        verify_audit()


@pytest.mark.django_db
def test_verify_audit_notices_a_rehashed_edit(draft, applicant):
    # Editing a row and recomputing its own hash still breaks the link of the next event.
    application_cancel(application=draft, actor=applicant.user, ip_address=None)
    first = draft.events.get(sequence=1)
    fields = {
        "sequence": 1,
        "application_id": draft.pk,
        "folio": draft.folio,
        "from_status": "",
        "to_status": "draft",
        "actor_id": None,
        "reason": "",
        "ip_address": first.ip_address,
        "created_at": first.created_at,
    }
    forged = audit.event_hash(previous_hash=first.previous_hash, fields=fields)
    ApplicationEvent.objects.filter(pk=first.pk).update(actor=None, hash=forged)

    with pytest.raises(CommandError, match=r"evento 2 .*hash anterior no coincide"):
        verify_audit()
