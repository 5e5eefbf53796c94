"""Faults: the time-stamp authority down, the revocation service (OCSP, CRL) down, the database
connection dropped in the middle of a request, a worker killed in the middle of a task.

Nothing is mocked: the services are the demo PKI's, served over HTTP on ports of this module's
own, and stopped for real (a refused connection); the worker is a real `qcluster` process killed
with SIGKILL; the database connection is a real PostgreSQL backend terminated with
`pg_terminate_backend` while the request waits for a row lock the test holds. After each fault
the same action is tried again and must complete exactly once: one signed document, one seal,
one payment, one email.
"""

import base64
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from django.core import mail
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from demo.pki.authority import ARCHITECTURE, DemoPKI
from demo.pki.server import DemoPKIServer, free_port
from loans.models import (
    ApplicationEvent,
    ApplicationStatus,
    AuditChainHead,
    Notification,
    Payment,
)
from loans.services import (
    application_register_payment,
)
from loans.signing import CONTRACT_KIND, SEALED_CONTRACT_KIND
from loans.tasks import seal_contract, seal_pending_contracts
from signatures.models import SignedDocument, SigningSession
from tests.builders import approve, transfer_for
from tests.signatures.signing_api import finish, prepare, sign

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
S = ApplicationStatus
UNAVAILABLE = "no se perdió nada"


# --- The demo PKI's services, each of which a test can stop and start again ------------------


class PKIServices:
    """The revocation services (OCSP, CRLs, certificates) on one port, the TSA on another.

    Both are the demo PKI's WSGI application; the certificates the PKI issues point their OCSP
    and CRL addresses at the first port, the TSA setting at the second, so each can be down
    alone.
    """

    def __init__(self, pki: DemoPKI, revocation_port: int, tsa_port: int) -> None:
        self.pki = pki
        self.ports = {"revocation": revocation_port, "tsa": tsa_port}
        self.servers: dict[str, DemoPKIServer] = {}
        self.tsa_url = f"http://{HOST}:{tsa_port}/{ARCHITECTURE}/tsa/tsa"

    def start(self, service: str) -> None:
        self.servers[service] = DemoPKIServer(self.pki, HOST, self.ports[service]).__enter__()

    def stop(self, service: str) -> None:
        self.servers.pop(service).__exit__(None, None, None)

    @contextmanager
    def down(self, service: str) -> Iterator[None]:
        self.stop(service)
        with socket.socket() as probe:
            assert probe.connect_ex((HOST, self.ports[service])) != 0, "still answering"
        try:
            yield
        finally:
            self.start(service)


@pytest.fixture(scope="module")
def pki_services(tmp_path_factory) -> Iterator[PKIServices]:
    revocation_port, tsa_port = free_port(), free_port()
    pki = DemoPKI(tmp_path_factory.mktemp("reliability_pki"), f"http://{HOST}:{revocation_port}")
    pki.ensure()
    services = PKIServices(pki, revocation_port, tsa_port)
    overrides = override_settings(
        DEMO_PKI_DIR=pki.directory,
        DEMO_PKI_URL=pki.url_prefix,
        DEMO_PKI_PORT=revocation_port,
        SIGNATURES_TRUST_DIR=pki.trust_dir,
        SIGNATURES_TSA_URL=services.tsa_url,
        SIGNATURES_HTTP_TIMEOUT=5,
    )
    services.start("revocation")
    services.start("tsa")
    try:
        with overrides:
            yield services
    finally:
        for service in list(services.servers):
            services.stop(service)


@pytest.fixture
def demo_pki(pki_services) -> DemoPKI:
    """This module's PKI in place of the session's, for `demo_credentials` and `seal`."""
    return pki_services.pki


def files_under(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in Path(root).rglob("*") if path.is_file()}


def signed_events(application) -> int:
    return ApplicationEvent.objects.filter(application=application, to_status=S.SIGNED).count()


def assert_still_a_draft(draft, *, events_before: int) -> None:
    draft.refresh_from_db()
    assert draft.status == S.DRAFT
    assert draft.completed_at is not None  # what the applicant filled in is all there
    assert draft.documents.count() == 3
    assert not SignedDocument.objects.filter(reference=draft.folio).exists()
    assert draft.events.count() == events_before


def assert_signed_once(draft) -> None:
    draft.refresh_from_db()
    assert draft.status == S.SIGNED
    [document] = SignedDocument.objects.filter(reference=draft.folio)
    assert document.kind == CONTRACT_KIND
    assert signed_events(draft) == 1
    call_command("verify_audit")  # raises when the chain of events is broken


def assert_a_clear_503(response) -> None:
    assert response.status_code == 503, response.content
    body = response.json()
    assert body["error"] == "service_unavailable"
    assert UNAVAILABLE in body["message"]


# --- TSA and OCSP down while the applicant signs -------------------------------------------


def test_revocation_service_down_at_prepare_is_a_503_and_the_retry_signs_once(
    applicant, complete_draft, demo_credentials, pki_services
):
    events_before = complete_draft.events.count()
    with pki_services.down("revocation"):
        response = prepare(applicant, complete_draft, demo_credentials.certificate)
    assert_a_clear_503(response)
    assert not SigningSession.objects.exists()
    assert_still_a_draft(complete_draft, events_before=events_before)

    _body, finished = sign(applicant, complete_draft, demo_credentials)
    assert finished.status_code == 200, finished.json()
    assert_signed_once(complete_draft)


def test_prepare_does_not_need_the_tsa_and_finish_waits_for_it(
    applicant, complete_draft, demo_credentials, pki_services, media_root
):
    events_before = complete_draft.events.count()
    files_before = files_under(media_root)
    with pki_services.down("tsa"):
        prepared = prepare(applicant, complete_draft, demo_credentials.certificate)
        assert prepared.status_code == 200, prepared.json()
        body = prepared.json()
        signature = demo_credentials.sign(base64.b64decode(body["signed_attributes"]))
        response = finish(applicant, complete_draft, body["session"], signature)
    assert_a_clear_503(response)
    assert_still_a_draft(complete_draft, events_before=events_before)
    assert files_under(media_root) == files_before

    retry = finish(applicant, complete_draft, body["session"], signature)
    assert retry.status_code == 200, retry.json()
    assert_signed_once(complete_draft)


@pytest.mark.parametrize("service", ["tsa", "revocation"])
def test_a_service_down_at_finish_is_a_503_and_the_same_session_signs_once(
    service, applicant, complete_draft, demo_credentials, pki_services, media_root
):
    body = prepare(applicant, complete_draft, demo_credentials.certificate).json()
    signature = demo_credentials.sign(base64.b64decode(body["signed_attributes"]))
    events_before = complete_draft.events.count()
    files_before = files_under(media_root)

    with pki_services.down(service):
        response = finish(applicant, complete_draft, body["session"], signature)
    assert_a_clear_503(response)
    assert_still_a_draft(complete_draft, events_before=events_before)
    assert files_under(media_root) == files_before  # no half-signed PDF left behind
    [session] = SigningSession.objects.all()
    assert session.finished_at is None  # not spent: the applicant does not sign again

    retry = finish(applicant, complete_draft, body["session"], signature)
    assert retry.status_code == 200, retry.json()
    assert_signed_once(complete_draft)
    again = finish(applicant, complete_draft, body["session"], signature)
    assert again.status_code == 400
    assert again.json()["error"] == "session_expired"
    assert_signed_once(complete_draft)


# --- TSA and OCSP down during the institutional seal --------------------------------------


@pytest.mark.parametrize("service", ["tsa", "revocation"])
def test_a_service_down_leaves_the_seal_pending_and_the_sweep_seals_once(
    service, approved, analyst, pki_services, media_root
):
    files_before = files_under(media_root)
    events_before = approved.events.count()
    with pki_services.down(service):
        assert seal_contract(approved.pk) is False
        assert seal_pending_contracts() == 0
    assert not SignedDocument.objects.filter(kind=SEALED_CONTRACT_KIND).exists()
    assert files_under(media_root) == files_before
    approved.refresh_from_db()
    assert approved.status == S.APPROVED
    assert approved.events.count() == events_before
    change = reverse("admin:loans_loanapplication_change", args=[approved.pk])
    assert "Aprobada, sello pendiente" in analyst.get(change).content.decode()

    assert seal_pending_contracts() == 1
    assert seal_pending_contracts() == 0
    assert seal_contract(approved.pk) is True
    [sealed] = SignedDocument.objects.filter(kind=SEALED_CONTRACT_KIND)
    assert sealed.reference == approved.folio
    assert SignedDocument.objects.filter(reference=approved.folio).count() == 2
    assert len(files_under(media_root)) == len(files_before) + 1
    assert approved.events.filter(to_status=S.APPROVED).count() == 1
    assert "sello pendiente" not in analyst.get(change).content.decode()


# --- PostgreSQL: a worker process, a database connection ----------------------------------


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("Another process, or a backend to terminate, needs PostgreSQL.")


class SilentServer:
    """A TCP server that accepts connections and never answers: whoever calls it waits."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind((HOST, 0))
        self.socket.listen()
        self.port = self.socket.getsockname()[1]
        self.reached = threading.Event()
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        try:
            while True:
                client, _address = self.socket.accept()
                self.held.append(client)
                self.reached.set()
        except OSError:
            return  # closed

    def close(self) -> None:
        self.socket.close()
        for client in self.held:
            client.close()


def worker_environment(settings, **overrides: str) -> dict[str, str]:
    database = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        ),
        "DJANGO_SETTINGS_MODULE": "isseg_portal.settings",
        "ISSEG_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SIGNATURES_TRUST_DIR": str(settings.SIGNATURES_TRUST_DIR),
        "SIGNATURES_TSA_URL": settings.SIGNATURES_TSA_URL,
        "SIGNATURES_HTTP_TIMEOUT": "120",
        "Q_WORKERS": "1",
        "Q_TIMEOUT": "120",
        "Q_RETRY": "180",
        **overrides,
    }


@contextmanager
def qcluster(environment: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """`manage.py qcluster` in a process group of its own, killed (SIGKILL, all of it) after."""
    with open(log, "wb") as output:
        cluster = subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield cluster
        finally:
            with suppress(ProcessLookupError):
                os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait(timeout=30)


def queued(function: str) -> list:
    from django_q.models import OrmQ

    return [row for row in OrmQ.objects.order_by("pk") if row.func() == function]


def run_as_a_worker_would(row) -> object:
    """What a worker does with a queued task when it is offered again after Q_RETRY."""
    package = row.task
    result = import_string(package["func"])(*package.get("args") or ())
    row.delete()
    return result


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_qcluster_killed_in_the_middle_of_a_seal_loses_nothing_and_seals_once(
    postgresql, approved, settings, media_root, tmp_path
):
    from django_q.models import OrmQ

    [seal_task] = queued("loans.tasks.seal_after_approval")
    # Only the seal: the notices of the earlier steps are another test's.
    OrmQ.objects.exclude(pk=seal_task.pk).delete()
    files_before = files_under(media_root)
    tsa = SilentServer()
    environment = worker_environment(
        settings,
        SIGNATURES_TSA_URL=f"http://{HOST}:{tsa.port}/tsa",
        SIGNATURES_SEAL_PKCS12=str(settings.SIGNATURES_SEAL_PKCS12),
        SIGNATURES_SEAL_PASSWORD=settings.SIGNATURES_SEAL_PASSWORD,
    )
    try:
        with qcluster(environment, tmp_path / "qcluster.log") as cluster:
            reached = tsa.reached.wait(timeout=60)
            assert reached, (tmp_path / "qcluster.log").read_text()
            # The worker is inside the seal's transaction, waiting for the time-stamp.
            os.killpg(cluster.pid, signal.SIGKILL)
    finally:
        tsa.close()

    assert not SignedDocument.objects.filter(kind=SEALED_CONTRACT_KIND).exists()
    assert files_under(media_root) == files_before  # no orphaned file, no temporary one
    assert [row.pk for row in queued("loans.tasks.seal_after_approval")] == [seal_task.pk]
    approved.refresh_from_db()
    assert approved.status == S.APPROVED

    # The sweep (every few minutes) seals it; the task, offered again, finds it sealed.
    assert seal_pending_contracts() == 1
    assert run_as_a_worker_would(OrmQ.objects.get(pk=seal_task.pk)) is True
    assert seal_pending_contracts() == 0
    assert SignedDocument.objects.filter(kind=SEALED_CONTRACT_KIND).count() == 1
    assert SignedDocument.objects.filter(reference=approved.folio).count() == 2
    assert len(files_under(media_root)) == len(files_before) + 1
    assert approved.events.filter(to_status=S.APPROVED).count() == 1


@pytest.fixture
def approved_without_pdf(signed, analyst, authorizer):
    """Approved after a signature that is the transition only (no signed PDF): these tests are
    about what comes after."""
    return approve(signed, analyst=analyst, authorizer=authorizer)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_qcluster_killed_while_emailing_the_payment_notice_sends_it_once(
    postgresql, approved_without_pdf, treasurer, settings, tmp_path
):
    from django_q.models import OrmQ

    application = approved_without_pdf
    application_register_payment(
        application=application,
        actor=treasurer.user,
        transfer=transfer_for(application),
        ip_address=None,
    )
    paid = application.events.get(to_status=S.DISBURSED)
    [notice_task] = [
        row for row in queued("loans.tasks.notify_event") if row.task["args"] == (paid.pk,)
    ]
    OrmQ.objects.exclude(pk=notice_task.pk).delete()
    smtp = SilentServer()
    environment = worker_environment(
        settings,
        EMAIL_HOST=HOST,
        EMAIL_PORT=str(smtp.port),
        EMAIL_USE_TLS="0",
        EMAIL_TIMEOUT="120",
    )
    try:
        with qcluster(environment, tmp_path / "qcluster.log") as cluster:
            reached = smtp.reached.wait(timeout=60)
            assert reached, (tmp_path / "qcluster.log").read_text()
            # The worker is sending the email, inside the transaction that records it.
            os.killpg(cluster.pid, signal.SIGKILL)
    finally:
        smtp.close()

    assert not Notification.objects.filter(event=paid, emailed_at__isnull=False).exists()
    assert [row.pk for row in queued("loans.tasks.notify_event")] == [notice_task.pk]

    assert run_as_a_worker_would(OrmQ.objects.get(pk=notice_task.pk)) is True
    [email] = mail.outbox
    assert application.folio in email.subject
    assert email.to == [application.email]
    [notice] = Notification.objects.filter(event=paid)
    assert notice.emailed_at is not None
    # Offered once more (a second worker, a duplicate in the queue): no second email.
    assert import_string("loans.tasks.notify_event")(paid.pk) is False
    assert len(mail.outbox) == 1
    assert Payment.objects.filter(application=application).count() == 1


@contextmanager
def row_lock_on_the_audit_chain() -> Iterator[None]:
    """Hold the lock every transition takes last (the audit chain's head), from the test's
    connection: a request that changes a state waits there, after its other writes."""
    with transaction.atomic():
        AuditChainHead.objects.select_for_update().get(pk=1)
        yield


def terminate_the_backend_waiting_for_us(timeout: float = 30) -> int:
    """The request's own PostgreSQL backend, terminated while it waits for our lock."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                # pg_locks is live (pg_stat_activity is a snapshot for our transaction).
                "SELECT DISTINCT pid FROM pg_locks "
                "WHERE NOT granted AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            )
            waiting = [pid for (pid,) in cursor.fetchall()]
            if waiting:
                [pid] = waiting
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                assert cursor.fetchone() == (True,)
                return pid
            time.sleep(0.05)
    raise AssertionError("no request came to wait for the lock")


@contextmanager
def request_thread() -> Iterator[ThreadPoolExecutor]:
    """One thread for the requests, like a server's: its database connection is reused from one
    request to the next (CONN_MAX_AGE), so the next request shows whether it recovers."""
    executor = ThreadPoolExecutor(max_workers=1)
    try:
        yield executor
    finally:
        executor.submit(connections.close_all).result()
        executor.shutdown()


def assert_the_503_page(response) -> None:
    assert response.status_code == 503
    page = response.content.decode()
    assert "Servicio no disponible" in page
    assert UNAVAILABLE in page
    assert "intenta de nuevo" in page.lower()
    assert response["Retry-After"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_database_connection_dropped_while_registering_a_payment(
    postgresql, approved_without_pdf, treasurer
):
    application = approved_without_pdf
    url = reverse("admin:loans_loanapplication_action", args=[application.pk, "pagar"])
    change = reverse("admin:loans_loanapplication_change", args=[application.pk])
    data = {
        "spei_reference": "ISSEG20261121000123",
        "paid_on": timezone.localdate().isoformat(),
        "amount": str(application.net_to_receive),
        "clabe": application.clabe,
    }
    events_before = application.events.count()

    with request_thread() as server:
        with row_lock_on_the_audit_chain():
            pending = server.submit(treasurer.post, url, data)
            terminate_the_backend_waiting_for_us()
        response = pending.result(timeout=30)
        assert_the_503_page(response)

        # Nothing of the payment was written: the transaction died with its backend.
        application.refresh_from_db()
        assert application.status == S.APPROVED
        assert not Payment.objects.exists()
        assert application.events.count() == events_before
        call_command("verify_audit")

        # The very next request on the same thread works, and the retry pays once.
        assert server.submit(treasurer.get, change).result(timeout=30).status_code == 200
        retry = server.submit(treasurer.post, url, data).result(timeout=30)
        assert retry.status_code == 302, retry.content.decode()
        again = server.submit(treasurer.post, url, data).result(timeout=30)
        assert again.status_code == 409

    application.refresh_from_db()
    assert application.status == S.DISBURSED
    assert Payment.objects.filter(application=application).count() == 1
    assert application.events.filter(to_status=S.DISBURSED).count() == 1
    call_command("verify_audit")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_database_connection_dropped_while_finishing_a_signature(
    postgresql, applicant, complete_draft, demo_credentials
):
    body = prepare(applicant, complete_draft, demo_credentials.certificate).json()
    signature = demo_credentials.sign(base64.b64decode(body["signed_attributes"]))
    url = reverse("loans:sign_finish", args=[complete_draft.public_id])
    data = {"session": body["session"], "signature": base64.b64encode(signature).decode()}
    events_before = complete_draft.events.count()

    def post():
        return applicant.post(url, data, headers={"Accept": "application/json"})

    with request_thread() as server:
        with row_lock_on_the_audit_chain():
            pending = server.submit(post)
            terminate_the_backend_waiting_for_us()
        response = pending.result(timeout=30)
        assert_a_clear_503(response)
        assert_still_a_draft(complete_draft, events_before=events_before)
        [session] = SigningSession.objects.all()
        assert session.finished_at is None

        detail = reverse("loans:application_detail", args=[complete_draft.public_id])
        assert server.submit(applicant.get, detail).result(timeout=30).status_code == 200
        retry = server.submit(post).result(timeout=30)
        assert retry.status_code == 200, retry.json()
        again = server.submit(post).result(timeout=30)
        assert again.status_code == 400
    assert_signed_once(complete_draft)


def served(client, path: str) -> tuple[int, int]:
    """A GET handed to Django as a WSGI server hands it (request_started and request_finished
    fire, with `close_old_connections`, which the test client leaves out); the status and the
    PostgreSQL backend that answered it."""
    environ = RequestFactory().get(path).environ
    environ["HTTP_COOKIE"] = "; ".join(
        f"{key}={morsel.value}" for key, morsel in client.cookies.items()
    )
    response = WSGIHandler()(environ, lambda status, headers: None)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            [(pid,)] = cursor.fetchall()
        return response.status_code, pid
    finally:
        response.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_next_request_after_the_backend_was_terminated_reconnects(
    postgresql, applicant, complete_draft
):
    """The backend of a kept-alive connection terminated between two requests (a database
    restart, a failover): the next request checks the connection first and opens a new one."""
    detail = reverse("loans:application_detail", args=[complete_draft.public_id])
    with request_thread() as server:
        first_status, first_pid = server.submit(served, applicant, detail).result(timeout=30)
        assert first_status == 200
        kept_status, kept_pid = server.submit(served, applicant, detail).result(timeout=30)
        assert (kept_status, kept_pid) == (200, first_pid)  # CONN_MAX_AGE: the same backend

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [first_pid])
            assert cursor.fetchone() == (True,)
        status, pid = server.submit(served, applicant, detail).result(timeout=30)
        assert status == 200
        assert pid != first_pid
