"""From approval to the sealed contract: the seal task, its retry, and what staff and the
applicant see. Against the demo PKI served over HTTP."""

import pytest
from django.test import override_settings
from django.urls import reverse

from demo.pki.server import free_port
from loans.models import ApplicationStatus
from loans.services import application_approve
from loans.signing import SEALED_CONTRACT_KIND, application_signed_contract
from loans.tasks import seal_contract, seal_pending_contracts
from signatures.models import SignedDocument
from signatures.validation import validate_pdf
from tests.builders import approve, sign_with_efirma, take_for_review


def test_approval_queues_the_seal_after_commit(
    complete_draft, demo_credentials, analyst, authorizer, django_capture_on_commit_callbacks
):
    from django_q.models import OrmQ

    draft = complete_draft
    sign_with_efirma(draft, demo_credentials)
    take_for_review(draft, analyst)
    OrmQ.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        application_approve(application=draft, actor=authorizer.user, ip_address=None)
    queued = [task.func() for task in OrmQ.objects.all()]
    assert "loans.tasks.seal_after_approval" in queued


def test_the_sealed_contract_has_two_trusted_signatures_and_a_document_time_stamp(
    approved, applicant
):
    assert seal_contract(approved.pk) is True
    contract = application_signed_contract(approved)
    assert contract.kind == SEALED_CONTRACT_KIND

    report = validate_pdf(contract.file.read())
    assert report.ok
    assert len(report.signatures) == 2
    assert all(signature.trusted for signature in report.signatures)
    assert report.document_timestamps
    assert {signature.level for signature in report.signatures} == {"B-LTA"}

    download = applicant.get(reverse("loans:signed_contract", args=[approved.public_id]))
    assert b"".join(download.streaming_content) == contract.file.open("rb").read()


def test_a_seal_task_run_twice_seals_once(approved):
    assert seal_contract(approved.pk) is True
    assert seal_contract(approved.pk) is True
    assert seal_pending_contracts() == 0
    assert SignedDocument.objects.filter(kind=SEALED_CONTRACT_KIND).count() == 1


def test_tsa_down_leaves_the_seal_pending_and_the_sweep_completes_it(approved, analyst):
    with override_settings(SIGNATURES_TSA_URL=f"http://127.0.0.1:{free_port()}/tsa"):
        assert seal_contract(approved.pk) is False
    assert not SignedDocument.objects.filter(kind=SEALED_CONTRACT_KIND).exists()
    approved.refresh_from_db()
    assert approved.status == ApplicationStatus.APPROVED

    change = reverse("admin:loans_loanapplication_change", args=[approved.pk])
    assert "Aprobada, sello pendiente" in analyst.get(change).content.decode()
    listing = analyst.get(reverse("admin:loans_loanapplication_changelist")).content.decode()
    assert "Aprobada, sello pendiente" in listing

    assert seal_pending_contracts() == 1
    assert "sello pendiente" not in analyst.get(change).content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_in_the_middle_of_a_seal_leaves_nothing_and_the_retry_completes(
    complete_draft, analyst, authorizer, demo_credentials, seal, settings
):
    """A real worker process, killed with SIGKILL while it waits for the TSA during the seal."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import threading
    from pathlib import Path

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("The worker process needs the test database on a server (PostgreSQL).")
    draft = complete_draft
    sign_with_efirma(draft, demo_credentials)
    approve(draft, analyst=analyst, authorizer=authorizer)

    # A TSA that accepts the connection and never answers: the worker is stuck mid-seal.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    reached = threading.Event()
    held = []

    def hold() -> None:
        client, _address = silent.accept()
        held.append(client)
        reached.set()

    threading.Thread(target=hold, daemon=True).start()
    database = connection.settings_dict
    environment = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        ),
        "ISSEG_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SIGNATURES_TRUST_DIR": str(settings.SIGNATURES_TRUST_DIR),
        "SIGNATURES_SEAL_PKCS12": str(settings.SIGNATURES_SEAL_PKCS12),
        "SIGNATURES_SEAL_PASSWORD": settings.SIGNATURES_SEAL_PASSWORD,
        "SIGNATURES_TSA_URL": f"http://127.0.0.1:{silent.getsockname()[1]}/tsa",
        "SIGNATURES_HTTP_TIMEOUT": "120",
        "DJANGO_SETTINGS_MODULE": "isseg_portal.settings",
    }
    worker = subprocess.Popen(  # noqa: S603 - our interpreter, a fixed script
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from loans.tasks import seal_contract; "
            f"seal_contract({draft.pk})",
        ],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
    )
    try:
        assert reached.wait(timeout=60), "the worker never reached the TSA"
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        silent.close()
        for client in held:
            client.close()

    assert not SignedDocument.objects.filter(kind=SEALED_CONTRACT_KIND).exists()
    files = sorted(path.name for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file())
    assert len(files) == 1 + draft.documents.count()  # the applicant's contract and documents
    assert not any(name.endswith(".tmp") for name in files)

    assert seal_contract(draft.pk) is True
    assert SignedDocument.objects.filter(kind=SEALED_CONTRACT_KIND).count() == 1
