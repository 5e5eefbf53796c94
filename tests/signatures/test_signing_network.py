"""No database transaction nor row lock is held while the signature or the seal waits on the
network (TSA, OCSP, CRL), and a session finished many times at once stores one PDF.

The TSA here is the demo PKI's behind a local proxy that, on every request and before it answers,
looks at the finishing thread's database connection (it must not be inside a transaction) and
writes from its own connection as other requests do meanwhile (a login, and on PostgreSQL a lock
on the signing session's row taken without waiting): on SQLite, whose writers take the one
database lock, any transaction held across the call makes that write fail or wait.
"""

import base64
import threading
import time
import urllib.request
from collections import Counter
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections, transaction
from django.test import Client, override_settings

from loans.models import ApplicationStatus
from loans.signing import CONTRACT_KIND, SEALED_CONTRACT_KIND, application_seal_contract
from signatures.models import SignedDocument, SigningSession
from tests.builders import complete_draft_for, sign_with_efirma
from tests.factories import UserFactory
from tests.signatures.signing_api import finish, prepare

pytestmark = pytest.mark.django_db(transaction=True)

# A write that waits for nothing takes milliseconds; one behind a held transaction waits for the
# whole TSA call (or fails at once on SQLite's shared in-memory test database).
PROMPT_SECONDS = 2.0


class ObservingTSA:
    """The demo TSA behind a proxy that, before forwarding each request, records what the
    finishing thread's connection was doing and how a concurrent write went."""

    def __init__(self, upstream: str, watched, *, delay: float = 0.0) -> None:
        self.upstream = upstream
        self.watched = watched  # the DatabaseWrapper of the thread that signs or seals
        self.delay = delay
        self.observations: list[dict] = []
        self.lock = threading.Lock()
        observer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                observer.observe()
                time.sleep(observer.delay)
                request = urllib.request.Request(  # noqa: S310 - the demo TSA on localhost
                    observer.upstream,
                    data=body,
                    headers={"Content-Type": self.headers.get("Content-Type", "")},
                )
                with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                    content = answer.read()
                    content_type = answer.headers.get("Content-Type", "")
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tsa"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def observe(self) -> None:
        observation = {"in_atomic_block": self.watched.in_atomic_block}
        started = time.monotonic()
        try:
            user = UserFactory()
            # A login: the session row and last_login written, as any sign-in does.
            Client().force_login(user)
            with transaction.atomic():
                if connection.vendor == "postgresql":
                    # No row lock left on the open sessions while they wait for the TSA.
                    list(SigningSession.objects.select_for_update(nowait=True))
                user.first_name = "Concurrente"
                user.save(update_fields=["first_name"])
            observation["write_error"] = None
        except Exception as error:
            observation["write_error"] = repr(error)
        finally:
            connections.close_all()
        observation["write_seconds"] = time.monotonic() - started
        with self.lock:
            self.observations.append(observation)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def observing_tsa(watched, *, delay: float = 0.0):
    tsa = ObservingTSA(settings.SIGNATURES_TSA_URL, watched, delay=delay)
    try:
        with override_settings(SIGNATURES_TSA_URL=tsa.url):
            yield tsa
    finally:
        tsa.close()


def assert_nothing_held(tsa: ObservingTSA) -> None:
    assert tsa.observations, "the TSA was never asked"
    for observation in tsa.observations:
        assert observation["in_atomic_block"] is False, observation
        assert observation["write_error"] is None, observation
        assert observation["write_seconds"] < PROMPT_SECONDS, observation


def test_finish_holds_no_transaction_while_the_tsa_answers(applicant, demo_credentials, media_root):
    draft = complete_draft_for(applicant)
    body = prepare(applicant, draft, demo_credentials.certificate).json()
    signature = demo_credentials.sign(base64.b64decode(body["signed_attributes"]))

    with observing_tsa(connections["default"]) as tsa:
        response = finish(applicant, draft, body["session"], signature)

    assert response.status_code == 200, response.json()
    assert_nothing_held(tsa)
    draft.refresh_from_db()
    assert draft.status == ApplicationStatus.SIGNED
    assert SignedDocument.objects.filter(reference=draft.folio, kind=CONTRACT_KIND).count() == 1


def test_the_seal_holds_no_transaction_while_the_tsa_answers(
    applicant, demo_credentials, seal, media_root
):
    draft = complete_draft_for(applicant)
    signed = sign_with_efirma(draft, demo_credentials)

    with observing_tsa(connections["default"]) as tsa:
        sealed = application_seal_contract(draft)

    assert_nothing_held(tsa)
    assert sealed.kind == SEALED_CONTRACT_KIND
    assert sealed.supersedes_id == signed.pk
    # Sealed again, it is the same record: the seal is applied once.
    assert application_seal_contract(draft).pk == sealed.pk
    assert SignedDocument.objects.filter(kind=SEALED_CONTRACT_KIND).count() == 1


def stored_pdfs(media_root: Path) -> list[Path]:
    return [path for path in (media_root / "firmados").rglob("*.pdf") if path.is_file()]


def test_finishes_of_one_session_at_once_store_one_pdf(applicant, demo_credentials, media_root):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's shared in-memory test database refuses concurrent writers.")
    draft = complete_draft_for(applicant)
    body = prepare(applicant, draft, demo_credentials.certificate).json()
    signature = base64.b64encode(
        demo_credentials.sign(base64.b64decode(body["signed_attributes"]))
    ).decode()
    data = {"session": body["session"], "signature": signature}
    from django.urls import reverse

    url = reverse("loans:sign_finish", args=[draft.public_id])
    count = 11
    barrier = threading.Barrier(count)
    responses: list = [None] * count

    def run(index: int) -> None:
        tab = Client()
        tab.cookies = applicant.cookies
        try:
            barrier.wait(timeout=30)
            responses[index] = tab.post(url, data, headers={"Accept": "application/json"})
        except BaseException as error:  # handed to the test
            responses[index] = error
        finally:
            connections.close_all()

    # A slow TSA: every finish that got past the session would be waiting on it together.
    with observing_tsa(connections["default"], delay=0.5):
        threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert not any(isinstance(response, BaseException) for response in responses), responses
    statuses = Counter(response.status_code for response in responses)
    assert statuses[200] == 1, statuses
    assert all(400 <= status < 500 for status in statuses if status != 200), statuses
    [document] = SignedDocument.objects.filter(reference=draft.folio)
    assert [path.name for path in stored_pdfs(media_root)] == [Path(document.file.name).name]
