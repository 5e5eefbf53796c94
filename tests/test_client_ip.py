"""Behind the load balancer (DJANGO_BEHIND_PROXY=1) every request comes from its address; the
audit trail and the rate limits must see the person's, the one the balancer appends to
X-Forwarded-For. One function reads it for the whole portal (`isseg_portal.client_ip`)."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from isseg_portal.client_ip import client_ip
from loans.services import application_take_for_review
from tests.builders import signed_for
from tests.signatures.signing_api import sign

BALANCER = "10.0.0.2"
PERSON = "203.0.113.7"


@pytest.fixture
def behind_the_balancer(settings):
    # What DJANGO_BEHIND_PROXY=1 sets: one proxy in front, whose X-Forwarded-For is believed.
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1


def through_the_balancer(client: Client, person: str = PERSON) -> Client:
    client.defaults.update(REMOTE_ADDR=BALANCER, HTTP_X_FORWARDED_FOR=person)
    return client


def test_the_person_s_address_is_the_one_the_balancer_forwards(behind_the_balancer):
    request = RequestFactory().get(
        "/", REMOTE_ADDR=BALANCER, HTTP_X_FORWARDED_FOR=f"1.2.3.4, {PERSON}"
    )
    # Only the last entry is the balancer's own; what the client wrote before it is not believed.
    assert client_ip(request) == PERSON


def test_without_a_proxy_the_forwarded_header_is_not_believed():
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.4", HTTP_X_FORWARDED_FOR=PERSON)
    assert client_ip(request) == "198.51.100.4"


def test_a_header_with_fewer_addresses_than_trusted_proxies_gives_no_address(settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2
    request = RequestFactory().get("/", REMOTE_ADDR=BALANCER, HTTP_X_FORWARDED_FOR=PERSON)
    assert client_ip(request) is None


def test_a_signature_records_the_person_s_address_in_the_audit_chain(
    behind_the_balancer, applicant, complete_draft, demo_credentials
):
    draft = complete_draft

    _prepared, finished = sign(through_the_balancer(applicant), draft, demo_credentials)

    assert finished.status_code == 200, finished.json()
    assert draft.events.order_by("sequence").last().ip_address == PERSON


def test_a_staff_decision_records_the_person_s_address_in_the_audit_chain(
    behind_the_balancer, applicant, analyst, authorizer
):
    application = signed_for(applicant)
    application_take_for_review(application=application, actor=analyst.user, ip_address=None)

    through_the_balancer(authorizer).post(
        reverse("admin:loans_loanapplication_action", args=[application.pk, "aprobar"])
    )

    event = application.events.order_by("sequence").last()
    assert (event.to_status, event.ip_address) == ("approved", PERSON)


@pytest.mark.django_db
def test_the_verification_page_counts_uploads_per_person_not_per_balancer(
    behind_the_balancer, settings
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.SIGNATURES_VERIFY_RATE = "2/h"

    def upload(client):
        document = SimpleUploadedFile("contrato.pdf", b"no es un PDF", "application/pdf")
        return client.post(reverse("signatures:verify"), {"documento": document}).status_code

    first, second = through_the_balancer(Client()), through_the_balancer(Client(), "198.51.100.9")
    assert [upload(first), upload(first), upload(first)] == [400, 400, 429]
    # Someone else behind the same balancer still has their own uploads.
    assert upload(second) == 400
