"""From approval to the sealed contract: the seal task, its retry, and what staff and the
applicant see. Against the demo PKI served over HTTP."""

import pytest
from django.test import override_settings
from django.urls import reverse

from loans.models import ApplicationStatus
from loans.services import application_approve, application_take_for_review
from loans.signing import SEALED_CONTRACT_KIND, application_signed_contract
from loans.tasks import seal_approved_contract, seal_pending_contracts
from signatures.models import SignedDocument
from signatures.validation import validate_pdf
from tests.loans.drafts import complete_draft_for
from tests.loans.factories import LoanProductFactory
from tests.signatures.credentials import free_port
from tests.signatures.test_signing import sign


@pytest.fixture
def approved(applicant, analyst, authorizer, demo_credentials, seal, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    draft = complete_draft_for(applicant, LoanProductFactory())
    sign(applicant, draft, demo_credentials)
    application_take_for_review(application=draft, actor=analyst.user, ip_address=None)
    application_approve(application=draft, actor=authorizer.user, ip_address=None)
    return draft


def test_approval_queues_the_seal_after_commit(
    applicant,
    analyst,
    authorizer,
    demo_credentials,
    settings,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    from django_q.models import OrmQ

    settings.MEDIA_ROOT = tmp_path / "media"
    draft = complete_draft_for(applicant, LoanProductFactory())
    sign(applicant, draft, demo_credentials)
    application_take_for_review(application=draft, actor=analyst.user, ip_address=None)
    OrmQ.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        application_approve(application=draft, actor=authorizer.user, ip_address=None)
    queued = [task.func() for task in OrmQ.objects.all()]
    assert "loans.tasks.seal_approved_contract" in queued


def test_the_sealed_contract_has_two_trusted_signatures_and_a_document_time_stamp(
    approved, applicant
):
    assert seal_approved_contract(approved.pk) is True
    contract = application_signed_contract(approved)
    assert contract.kind == SEALED_CONTRACT_KIND

    report = validate_pdf(contract.file.read())
    assert report.ok
    assert len(report.signatures) == 2
    assert all(signature.trusted for signature in report.signatures)
    assert report.document_timestamps
    assert {signature.level for signature in report.signatures} == {"B-LTA"}

    download = applicant.get(reverse("loans:signed_contract", args=[approved.folio]))
    assert b"".join(download.streaming_content) == contract.file.open("rb").read()


def test_a_seal_task_run_twice_seals_once(approved):
    assert seal_approved_contract(approved.pk) is True
    assert seal_approved_contract(approved.pk) is True
    assert seal_pending_contracts() == 0
    assert SignedDocument.objects.filter(kind=SEALED_CONTRACT_KIND).count() == 1


def test_tsa_down_leaves_the_seal_pending_and_the_sweep_completes_it(approved, analyst):
    with override_settings(SIGNATURES_TSA_URL=f"http://127.0.0.1:{free_port()}/tsa"):
        assert seal_approved_contract(approved.pk) is False
    assert not SignedDocument.objects.filter(kind=SEALED_CONTRACT_KIND).exists()
    approved.refresh_from_db()
    assert approved.status == ApplicationStatus.APPROVED

    change = reverse("admin:loans_loanapplication_change", args=[approved.pk])
    assert "Aprobada, sello pendiente" in analyst.get(change).content.decode()
    listing = analyst.get(reverse("admin:loans_loanapplication_changelist")).content.decode()
    assert "Aprobada, sello pendiente" in listing

    assert seal_pending_contracts() == 1
    assert "sello pendiente" not in analyst.get(change).content.decode()
