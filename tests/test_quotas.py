"""Quotas on costly actions: signature preparations and uploads per person and hour, the bytes
of one application's documents, sign-ups per address. Past each, a 429 (or a refusal) in
Spanish that says when to try again, and nothing stored. A replaced document of a draft leaves
storage; the periodic purges, `clearsessions` included, are scheduled."""

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from loans.models import DocumentKind, SupportingDocument
from loans.services import application_return, application_take_for_review
from signatures.models import SigningSession
from tests.builders import draft_with_account_for, signed_for
from tests.files import image_bytes, pdf_bytes
from tests.loans.addresses import step_url
from tests.pages import text
from tests.signatures.signing_api import prepare

RETRY = re.compile(r"a partir de las \d\d:\d\d \(en \d+ minutos?\)")


def post_file(client, application, name, content, kind=DocumentKind.IDENTIFICATION):
    upload = SimpleUploadedFile(name, content, "application/pdf")
    return client.post(step_url(application, 4), {"kind": kind, "file": upload})


def stored_files(media_root: Path) -> list[Path]:
    return sorted(path for path in media_root.rglob("*") if path.is_file())


# --- Signature preparations ---------------------------------------------------------------------


def test_signature_preparations_past_the_hourly_quota_get_a_429_and_store_nothing(
    settings, applicant, complete_draft, demo_credentials
):
    settings.SIGNING_PREPARE_RATE = "2/h"
    for _attempt in range(2):
        assert prepare(applicant, complete_draft, demo_credentials.certificate).status_code == 200
    assert SigningSession.objects.count() == 2

    response = prepare(applicant, complete_draft, demo_credentials.certificate)

    assert response.status_code == 429
    body = response.json()
    assert body["error"] == "rate_limited"
    assert "Preparaste la firma muchas veces en poco tiempo." in body["message"]
    assert RETRY.search(body["message"]), body["message"]
    assert 0 < int(response["Retry-After"]) <= 3600
    assert SigningSession.objects.count() == 2


def test_the_preparation_quota_is_per_person(settings, applicant, complete_draft):
    settings.SIGNING_PREPARE_RATE = "1/h"
    other = Client()
    other.force_login(get_user_model().objects.create_user("otra@example.org", "x"))
    # Another person's attempts (here at an application not theirs) count for them only.
    prepare(other, complete_draft, b"")
    prepare(other, complete_draft, b"")

    assert prepare(applicant, complete_draft, b"").status_code == 400  # not 429


# --- Uploads ------------------------------------------------------------------------------------


def test_uploads_past_the_hourly_quota_are_refused_with_a_429_and_not_stored(
    settings, applicant, media_root
):
    settings.DOCUMENT_UPLOAD_RATE = "2/h"
    draft = draft_with_account_for(applicant)
    post_file(applicant, draft, "ine.pdf", pdf_bytes())
    post_file(applicant, draft, "recibo.png", image_bytes("PNG"), DocumentKind.PROOF_OF_ADDRESS)
    files_before = stored_files(media_root)

    response = post_file(
        applicant, draft, "estado.pdf", pdf_bytes() + b"%", DocumentKind.BANK_STATEMENT
    )

    assert response.status_code == 429
    page = text(response)
    assert "Subiste muchos archivos en poco tiempo." in page
    assert RETRY.search(page), page
    assert response["Retry-After"]
    assert SupportingDocument.objects.count() == 2
    assert stored_files(media_root) == files_before


def test_an_upload_past_the_bytes_of_an_application_is_refused_and_not_stored(
    settings, applicant, media_root
):
    draft = draft_with_account_for(applicant)
    first = pdf_bytes()
    post_file(applicant, draft, "ine.pdf", first)
    second = image_bytes("PNG")
    settings.DOCUMENTS_MAX_BYTES_PER_APPLICATION = len(first) + len(second) - 1
    files_before = stored_files(media_root)

    response = post_file(applicant, draft, "recibo.png", second, DocumentKind.PROOF_OF_ADDRESS)

    assert response.status_code == 413
    assert "Los documentos de esta solicitud ya ocupan" in text(response)
    assert SupportingDocument.objects.count() == 1
    assert stored_files(media_root) == files_before


# --- A replaced document ------------------------------------------------------------------------


def test_a_document_replaced_in_a_draft_is_deleted_with_its_file(
    applicant, media_root, django_capture_on_commit_callbacks
):
    draft = draft_with_account_for(applicant)
    post_file(applicant, draft, "ine.pdf", pdf_bytes())
    old = SupportingDocument.objects.get()
    old_file = media_root / old.file.name
    assert old_file.exists()

    # The file goes once the transaction commits.
    with django_capture_on_commit_callbacks(execute=True):
        response = post_file(applicant, draft, "ine-nueva.pdf", pdf_bytes() + b"%")

    assert response.status_code == 302
    current = SupportingDocument.objects.get()
    assert current.original_name == "ine-nueva.pdf"
    assert not SupportingDocument.objects.filter(pk=old.pk).exists()
    assert not old_file.exists()
    assert stored_files(media_root) == [media_root / current.file.name]


def test_a_document_replaced_after_signing_stays_as_evidence(applicant, analyst, media_root):
    # Signed, then returned for correction: what the applicant signed with stays.
    application = signed_for(applicant)
    application_take_for_review(application=application, actor=analyst.user, ip_address=None)
    application_return(
        application=application, actor=analyst.user, reason="Otra identificación", ip_address=None
    )
    old = SupportingDocument.objects.get(application=application, kind=DocumentKind.IDENTIFICATION)

    response = post_file(applicant, application, "ine-nueva.pdf", pdf_bytes() + b"%%")

    assert response.status_code in (200, 302)
    old.refresh_from_db()
    assert old.superseded_at is not None
    assert (media_root / old.file.name).exists()


# --- Sign-ups -----------------------------------------------------------------------------------


def test_sign_ups_are_limited_per_address_per_hour_by_default():
    assert "10/h/ip" in django_settings.ACCOUNT_RATE_LIMITS["signup"]


@pytest.mark.django_db
def test_sign_ups_past_the_quota_of_an_address_get_a_429_saying_when(settings, mailoutbox):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "2/h/ip"}
    password = "Otra-Clave-Segura-2026"

    def sign_up(number: int):
        return Client().post(
            reverse("account_signup"),
            {"email": f"persona{number}@example.org", "password1": password, "password2": password},
        )

    assert sign_up(1).status_code == 302
    assert sign_up(2).status_code == 302
    response = sign_up(3)

    assert response.status_code == 429
    page = text(response)
    assert "Desde tu conexión se crearon muchas cuentas en poco tiempo." in page
    assert re.search(r"a más tardar a las \d\d:\d\d", page), page
    assert not get_user_model().objects.filter(email="persona3@example.org").exists()


# --- Schedules ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_clearsessions_and_every_purge_run_on_a_schedule():
    scheduled = dict(Schedule.objects.values_list("name", "func"))
    assert scheduled["isseg_portal.sessions_clear"] == "isseg_portal.tasks.sessions_clear"
    assert scheduled["signatures.signing_sessions_purge"] == (
        "signatures.tasks.signing_sessions_purge"
    )
    assert scheduled["isseg_portal.task_results_purge"] == "isseg_portal.tasks.task_results_purge"


@pytest.mark.django_db
def test_the_sessions_task_deletes_the_expired_ones_only():
    from isseg_portal.tasks import sessions_clear

    now = timezone.now()
    Session.objects.create(session_key="a" * 32, session_data="", expire_date=now)
    Session.objects.create(
        session_key="b" * 32, session_data="", expire_date=now + timezone.timedelta(hours=1)
    )

    sessions_clear()

    assert list(Session.objects.values_list("session_key", flat=True)) == ["b" * 32]


@pytest.mark.django_db
def test_failed_tasks_are_purged_after_the_days_kept(settings):
    from django_q.models import Failure, Success

    from isseg_portal.tasks import task_results_purge

    settings.Q_FAILURES_KEEP_DAYS = 30
    now = timezone.now()

    def task(name, *, days_ago, success):
        model = Success if success else Failure
        return model.objects.create(
            id=name.ljust(32, "0"),
            name=name,
            func="math.floor",
            started=now - timezone.timedelta(days=days_ago),
            stopped=now - timezone.timedelta(days=days_ago),
            success=success,
        )

    task("vieja", days_ago=31, success=False)
    task("reciente", days_ago=29, success=False)
    task("exitosa", days_ago=90, success=True)  # django-q2's save_limit keeps these bounded

    assert task_results_purge() == 1
    assert set(Failure.objects.values_list("name", flat=True)) == {"reciente"}
    assert Success.objects.count() == 1
