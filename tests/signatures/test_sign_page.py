"""The signing page as the server renders it: who may open it, and a form that cannot leak.

What the page does in the browser (decrypting the key, signing) is in tests/e2e/.
"""

import re

import pytest
from django.urls import reverse

from loans.models import ApplicationStatus
from loans.services import application_cancel
from tests.builders import filled_draft_for, sign
from tests.loans.addresses import detail_url
from tests.pages import messages_of, text


def sign_url(application) -> str:
    return reverse("loans:sign", kwargs={"public_id": application.public_id})


def tag(html: str, element_id: str) -> str:
    """The opening tag of the element with this id."""
    match = re.search(rf'<[a-z]+\b[^>]*\bid="{element_id}"[^>]*>', html)
    assert match, f"no element with id {element_id}"
    return match.group(0)


def test_the_applicant_sees_the_signing_form_for_a_complete_draft(applicant, complete_draft):
    # Given a complete draft
    application = complete_draft

    # When its applicant opens the signing page
    response = applicant.get(sign_url(application))

    # Then it shows the folio, the loan and the form with everything the e.firma needs
    assert response.status_code == 200
    page = text(response)
    html = response.content.decode()
    assert "Firma tu contrato" in page
    assert application.folio in page
    assert "$60,000.00" in page
    assert "48 quincenas" in page
    preview_url = reverse("loans:contract_preview", kwargs={"public_id": application.public_id})
    assert re.search(rf'<a href="{preview_url}"[^>]*>Revisa tu contrato \(borrador\)</a>', html)
    assert "He leído el contrato y acepto firmarlo con mi e.firma" in page
    assert "Firmar contrato" in page
    assert 'accept=".cer"' in tag(html, "signing-certificate")
    assert 'accept=".key"' in tag(html, "signing-key")
    password = tag(html, "signing-password")
    assert 'type="password"' in password
    assert 'autocomplete="off"' in password
    # the steps of signing, and where problems are announced
    for step in (
        "Leer tus archivos",
        "Descifrar la llave en tu dispositivo",
        "Verificar que la llave corresponde al certificado",
        "Validar tu certificado con el ISSEG",
        "Firmar en tu dispositivo",
        "Sellar con fecha y hora y guardar",
    ):
        assert step in page
    assert 'role="alert"' in tag(html, "signing-error")
    assert 'aria-live="polite"' in tag(html, "signing-status")
    # and, for a browser without JavaScript, why it cannot sign
    noscript = re.search(r"<noscript>(.*?)</noscript>", html, re.S).group(1)
    assert "Para firmar necesitas JavaScript" in noscript


def test_the_key_and_its_password_have_no_name_so_no_form_post_can_carry_them(
    applicant, complete_draft
):
    html = applicant.get(sign_url(complete_draft)).content.decode()

    assert " name=" not in tag(html, "signing-key")
    assert " name=" not in tag(html, "signing-password")
    # The only named field of the form is the CSRF token, and the button waits for the script.
    form = re.search(r'<form\b[^>]*id="signing-form".*?</form>', html, re.S).group(0)
    assert re.findall(r'\bname="([^"]+)"', form) == ["csrfmiddlewaretoken"]
    assert "disabled" in tag(html, "signing-submit")


def test_the_form_gives_the_script_the_two_api_urls_and_no_inline_script(applicant, complete_draft):
    application = complete_draft

    html = applicant.get(sign_url(application)).content.decode()

    form = tag(html, "signing-form")
    assert f'data-prepare-url="/solicitudes/{application.public_id}/firma/preparar/"' in form
    assert f'data-complete-url="/solicitudes/{application.public_id}/firma/completar/"' in form
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts, "the page loads its scripts"
    assert all(re.search(r'\bsrc="[^"]+"', script) for script in scripts)
    assert not re.search(r"\bstyle=", html)


def test_another_applicants_folio_is_a_404(other_applicant, complete_draft):
    response = other_applicant.get(sign_url(complete_draft))

    assert response.status_code == 404


def test_staff_do_not_sign_through_the_applicants_page(staff, complete_draft):
    response = staff.get(sign_url(complete_draft))

    assert response.status_code == 404


def test_an_unknown_folio_is_a_404(applicant):
    response = applicant.get(reverse("loans:sign_by_folio", kwargs={"folio": "PL-2026-999999"}))

    assert response.status_code == 404


@pytest.mark.parametrize("name", ["sign", "sign_prepare", "sign_finish", "signed_contract"])
def test_the_old_folio_addresses_lead_the_owner_to_the_same_page_by_its_code(
    applicant, other_applicant, complete_draft, name
):
    old = reverse(f"loans:{name}_by_folio", kwargs={"folio": complete_draft.folio})
    new = reverse(f"loans:{name}", args=[complete_draft.public_id])

    # 308: a signing client's POST is sent again, with its body, to the new address.
    for method in (applicant.get, applicant.post):
        response = method(old)
        assert (response.status_code, response["Location"]) == (308, new)
    assert other_applicant.get(old).status_code == 404
    assert other_applicant.post(old).status_code == 404


def test_anonymous_visitors_are_sent_to_log_in(anonymous, complete_draft):
    response = anonymous.get(sign_url(complete_draft))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_an_incomplete_draft_goes_back_to_its_page_saying_what_is_missing(applicant):
    # Given a draft whose last step was not confirmed
    application = filled_draft_for(applicant)

    # When the applicant opens the signing page
    response = applicant.get(sign_url(application))

    # Then they are sent to the application's page, which can say what to finish
    assert response.status_code == 302
    assert response.url == detail_url(application)
    assert (
        f"Antes de firmar, completa los pasos de tu solicitud {application.folio} y confírmala "
        "en el último paso."
    ) in messages_of(response)


def test_a_cancelled_application_cannot_be_signed(applicant, complete_draft):
    application = application_cancel(
        application=complete_draft, actor=applicant.user, ip_address=None
    )

    response = applicant.get(sign_url(application))

    assert response.status_code == 302
    assert response.url == detail_url(application)
    assert (
        f"La solicitud {application.folio} está cancelada: ya no se puede firmar."
    ) in messages_of(response)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.CANCELLED


def test_a_signed_application_goes_back_to_its_page(applicant, complete_draft):
    # Given an application already signed (the back button after signing, a second tab)
    application = sign(complete_draft)

    # When the signing page is opened again
    response = applicant.get(sign_url(application))

    # Then it leads to the application's page, which shows it signed
    assert response.status_code == 302
    assert response.url == detail_url(application)
    assert f"La solicitud {application.folio} ya está firmada." in messages_of(response)


def test_the_signing_page_only_answers_get(applicant, complete_draft):
    response = applicant.post(sign_url(complete_draft))

    assert response.status_code == 405
