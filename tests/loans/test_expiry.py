from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from loans.models import ApplicationStatus, LoanApplication
from loans.services import application_cancel, application_create
from loans.tasks import expire_stale_drafts
from tests.loans.factories import EXAMPLE_TERMS as TERMS
from tests.loans.factories import LoanProductFactory


def make_draft(applicant, *, days_old: int) -> LoanApplication:
    application = application_create(
        applicant=applicant.user,
        affiliate=applicant.affiliate,
        product=LoanProductFactory(),
        terms=TERMS,
        ip_address=None,
    )
    LoanApplication.objects.filter(pk=application.pk).update(
        created_at=timezone.now() - timedelta(days=days_old)
    )
    return application


@pytest.mark.django_db
def test_drafts_older_than_the_limit_expire_with_an_event(applicant, settings):
    settings.LOAN_DRAFT_EXPIRY_DAYS = 15
    old = make_draft(applicant, days_old=16)
    recent = make_draft(applicant, days_old=14)

    expired = expire_stale_drafts()

    assert expired == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.status == ApplicationStatus.EXPIRED
    assert recent.status == ApplicationStatus.DRAFT
    event = old.events.order_by("sequence").last()
    assert event.to_status == ApplicationStatus.EXPIRED
    assert event.actor is None
    assert "Venció el plazo" in event.reason


@pytest.mark.django_db
def test_expiring_twice_changes_nothing_the_second_time(applicant):
    make_draft(applicant, days_old=40)
    expire_stale_drafts()
    events_before = list(
        LoanApplication.objects.values_list("events__sequence", flat=True).order_by(
            "events__sequence"
        )
    )

    assert expire_stale_drafts() == 0
    assert (
        list(
            LoanApplication.objects.values_list("events__sequence", flat=True).order_by(
                "events__sequence"
            )
        )
        == events_before
    )


@pytest.mark.django_db
def test_only_drafts_expire(applicant):
    cancelled = make_draft(applicant, days_old=40)
    application_cancel(application=cancelled, actor=applicant.user, ip_address=None)

    assert expire_stale_drafts() == 0
    cancelled.refresh_from_db()
    assert cancelled.status == ApplicationStatus.CANCELLED


@pytest.mark.django_db
def test_the_expiry_runs_on_a_django_q_schedule():
    # Created after migrate (post_migrate), so every installation has it.
    schedule = Schedule.objects.get(name="loans.expire_stale_drafts")

    assert schedule.func == "loans.tasks.expire_stale_drafts"
    assert schedule.repeats == -1
