"""Pages with personal data are never kept by the browser or a proxy (shared office computers):
`Cache-Control: no-store` on every page of a logged-in person, the admin, the dashboard, the
documents and the public verification of a contract; the public pages an anonymous visitor sees
(home, the simulator, the privacy notice) and the static files are left cacheable."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from loans.models import DocumentKind
from loans.services import application_add_document
from tests.files import pdf_bytes


def assert_no_store(response, url: str) -> None:
    cache_control = response.get("Cache-Control", "")
    assert "no-store" in cache_control, (url, response.status_code, cache_control)
    assert "private" in cache_control or "no-cache" in cache_control, url
    assert response.get("Pragma") == "no-cache" or "no-store" in cache_control, url


def test_the_applicant_pages_and_documents_are_not_stored(applicant, complete_draft):
    document = application_add_document(
        application=complete_draft,
        kind=DocumentKind.PROOF_OF_ADDRESS,
        file=SimpleUploadedFile("recibo.pdf", pdf_bytes(), "application/pdf"),
    ).document
    public_id = complete_draft.public_id
    urls = [
        reverse("home"),  # public, but this one says who is logged in
        reverse("loans:simulator"),
        reverse("my_account"),
        reverse("account_email"),
        reverse("affiliates:my_affiliation"),
        reverse("loans:application_list"),
        reverse("loans:application_detail", args=[public_id]),
        reverse("loans:application_step", args=[public_id, 2]),
        reverse("loans:application_step", args=[public_id, 4]),
        reverse("loans:application_cancel", args=[public_id]),
        reverse("loans:document_download", args=[public_id, document.public_id]),
        reverse("loans:contract_preview", args=[public_id]),
        reverse("loans:sign", args=[public_id]),
    ]
    for url in urls:
        response = applicant.get(url)
        assert response.status_code in (200, 302), (url, response.status_code)
        assert_no_store(response, url)


@pytest.mark.parametrize(
    ("persona", "url_name"),
    [
        ("analyst", "admin:index"),
        ("analyst", "admin:loans_loanapplication_changelist"),
        ("treasurer", "tesoreria:payment_batch"),
        ("manager", "dashboard:dashboard"),
    ],
)
def test_staff_pages_are_not_stored(persona, url_name, request, signed):
    client = request.getfixturevalue(persona)
    url = reverse(url_name)
    response = client.get(url)
    assert response.status_code in (200, 302), (url, response.status_code)
    assert_no_store(response, url)


def test_the_admin_change_page_of_an_application_is_not_stored(analyst, signed):
    url = reverse("admin:loans_loanapplication_change", args=[signed.pk])
    assert_no_store(analyst.get(url), url)


def test_the_dashboard_export_is_not_stored(manager):
    url = reverse("dashboard:dashboard_export", args=["resumen", "csv"])
    response = manager.get(url)
    assert response.status_code == 200
    assert_no_store(response, url)


def test_the_public_verification_of_a_contract_is_not_stored(signed_contract):
    url = reverse("signatures:verify_token", args=[signed_contract.verification_token])
    response = Client().get(url)
    assert response.status_code == 200
    assert_no_store(response, url)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url_name",
    ["home", "loans:simulator", "privacy_notice", "privacy_notice_full", "signatures:verify"],
)
def test_public_pages_for_an_anonymous_visitor_stay_cacheable(url_name):
    response = Client().get(reverse(url_name))
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


@pytest.mark.django_db
def test_a_login_page_is_not_stored():
    url = reverse("account_login")
    assert_no_store(Client().get(url), url)


@pytest.mark.django_db
def test_static_files_keep_their_cache(settings, applicant):
    # Served by WhiteNoise before the portal's middleware, even to a logged-in person.
    response = applicant.get("/static/css/portal.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
