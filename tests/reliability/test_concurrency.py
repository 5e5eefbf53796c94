"""Concurrency on PostgreSQL: many requests for the same thing at the same moment.

Real threads, each with its own database connection and its own test client (sharing the
person's login session, as the tabs of one browser do), released together by a barrier. SQLite
runs one writer at a time, so these tests are PostgreSQL's: its row locks are what they prove.

- 50 finishes of the same signing session: one signed contract, one "firmada" event, and a
  clear Spanish 4xx for every other request;
- 10 approvals of the same application by its authorizer, through the admin's action: one
  approval, one seal task in the queue, one sealed contract once the queue has run.
"""

import base64
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from loans.models import ApplicationStatus
from loans.signing import CONTRACT_KIND, SEALED_CONTRACT_KIND
from signatures.models import SignedDocument
from signatures.validation import validate_pdf
from tests.builders import complete_draft_for, sign_with_efirma, take_for_review
from tests.e2e.queued_tasks import run_queued_tasks
from tests.signatures.signing_api import prepare

S = ApplicationStatus

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the row locks are PostgreSQL's to prove.")


def same_browser(client: Client) -> Client:
    """Another client with `client`'s cookies: the same login session, another tab."""
    twin = Client()
    twin.cookies = client.cookies
    return twin


def all_at_once(requests: list[Callable[[], object]]) -> list[object]:
    """Run the requests in threads released together; their responses (or exceptions)."""
    barrier = threading.Barrier(len(requests))
    results: list[object] = [None] * len(requests)

    def run(index: int, request: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = request()
        except BaseException as error:  # handed to the test, which shows it
            results[index] = error
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(index, request), name=f"request-{index}")
        for index, request in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a request never returned"
    errors = [result for result in results if isinstance(result, BaseException)]
    assert not errors, errors
    return results


def test_fifty_finishes_of_the_same_signing_session_sign_once(
    applicant, demo_credentials, media_root
):
    draft = complete_draft_for(applicant)
    prepared = prepare(applicant, draft, demo_credentials.certificate)
    assert prepared.status_code == 200, prepared.json()
    body = prepared.json()
    signature = base64.b64encode(
        demo_credentials.sign(base64.b64decode(body["signed_attributes"]))
    ).decode()
    url = reverse("loans:sign_finish", args=[draft.public_id])
    data = {"session": body["session"], "signature": signature}
    tabs = [same_browser(applicant) for _index in range(50)]

    responses = all_at_once(
        [
            lambda tab=tab: tab.post(url, data, headers={"Accept": "application/json"})
            for tab in tabs
        ]
    )

    statuses = Counter(response.status_code for response in responses)
    assert statuses[200] == 1, statuses
    assert all(400 <= status < 500 for status in statuses if status != 200), statuses
    refusals = [response.json() for response in responses if response.status_code != 200]
    assert len(refusals) == 49
    for refusal in refusals:
        # The session was used by the request that signed: say so, in Spanish.
        assert refusal["error"] in {"session_expired", "not_signable"}, refusal
        assert "firma" in refusal["message"].lower(), refusal
    [signed] = [response.json() for response in responses if response.status_code == 200]

    draft.refresh_from_db()
    assert draft.status == S.SIGNED
    [document] = SignedDocument.objects.filter(reference=draft.folio)
    assert document.kind == CONTRACT_KIND
    assert document.sha256 == signed["sha256"]
    assert draft.events.filter(to_status=S.SIGNED).count() == 1
    signed_files = [path for path in (media_root / "firmados").rglob("*") if path.is_file()]
    assert [path.name for path in signed_files] == [Path(document.file.name).name]
    assert validate_pdf(document.file.read()).ok


def test_ten_approvals_at_once_give_one_approval_one_seal_task_and_one_seal(
    applicant, analyst, authorizer, demo_credentials, seal, media_root
):
    from django_q.models import OrmQ

    draft = complete_draft_for(applicant)
    sign_with_efirma(draft, demo_credentials)
    take_for_review(draft, analyst)
    OrmQ.objects.all().delete()  # the notices of signing and review: not this test's
    url = reverse("admin:loans_loanapplication_action", args=[draft.pk, "aprobar"])
    tabs = [same_browser(authorizer) for _index in range(10)]

    responses = all_at_once([lambda tab=tab: tab.post(url, {}) for tab in tabs])

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {302: 1, 409: 9}, statuses
    for response in responses:
        if response.status_code == 409:
            page = response.content.decode()
            assert "no puede pasar a «aprobada»" in page, page
    draft.refresh_from_db()
    assert draft.status == S.APPROVED
    assert draft.approver == authorizer.user
    assert draft.events.filter(to_status=S.APPROVED).count() == 1
    queued = Counter(row.func() for row in OrmQ.objects.all())
    assert queued["loans.tasks.seal_after_approval"] == 1, queued
    assert queued["loans.tasks.notify_event"] == 1, queued  # "aprobada", once

    ran = run_queued_tasks(connections_override={})
    assert ran.count("loans.tasks.seal_after_approval") == 1
    [sealed] = SignedDocument.objects.filter(kind=SEALED_CONTRACT_KIND)
    assert sealed.reference == draft.folio
    assert SignedDocument.objects.filter(reference=draft.folio).count() == 2
    report = validate_pdf(sealed.file.read())
    assert report.ok
    assert len(report.signatures) == 2
