"""Starting an application from the simulator and filling in its five steps."""

import re
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from affiliates.models import AffiliateStatus
from demo.institute import create_institute_database
from loans.amortization import quote
from loans.models import ApplicationStatus, LoanApplication, SupportingDocument
from loans.services import application_cancel
from tests.affiliates.rows import source_row
from tests.builders import (
    AMOUNT,
    DOCUMENTS,
    EMAIL,
    QUINCENAS,
    VALID_CLABE,
    complete_draft_for,
    draft_for,
    filled_draft_for,
    with_check_digit,
)
from tests.factories import AffiliateLinkFactory
from tests.loans.addresses import detail_url, start_url, step_url
from tests.loans.factories import LoanProductFactory
from tests.pages import messages_of, text

# The institute's database does not answer: the last known data are used (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("institute_down")


def start(client, product, *, amount=AMOUNT, quincenas=QUINCENAS):
    return client.post(
        start_url(),
        {"product": product.code, "amount": str(amount), "quincenas": str(quincenas)},
    )


def upload(client, application, kind: str, name: str, content: bytes):
    return client.post(
        step_url(application, 4),
        {"kind": kind, "file": SimpleUploadedFile(name, content, "application/pdf")},
    )


def fill_steps_2_to_4(client, application) -> None:
    """Steps 2 to 4 through the wizard's pages, typing what tests/builders.py saves (the phone
    as people write it)."""
    contact = client.post(step_url(application, 2), {"phone": "473 123 4567", "email": EMAIL})
    assert contact.status_code == 302
    bank = client.post(step_url(application, 3), {"clabe": VALID_CLABE, "account_is_own": "on"})
    assert bank.status_code == 302
    for kind, name, content in DOCUMENTS:
        assert upload(client, application, kind, name, content()).status_code == 302


# --- Start ------------------------------------------------------------------------------------


def test_start_creates_a_draft_with_the_quote_and_the_data_used_and_opens_step_2(
    applicant, product
):
    # Given a linked applicant and the institute's database down
    affiliate = applicant.affiliate

    # When they ask for the loan they simulated
    response = start(applicant, product)

    # Then a draft holds the quote they saw, and step 2 opens
    application = LoanApplication.objects.get()
    assert response.status_code == 302
    assert response.url == step_url(application, 2)
    expected = quote(
        amount=AMOUNT,
        annual_rate=product.annual_rate,
        quincenas=QUINCENAS,
        fund_rate=product.fund_rate,
    )
    assert application.status == ApplicationStatus.DRAFT
    assert application.applicant == applicant.user
    assert (application.amount, application.quincenas) == (AMOUNT, QUINCENAS)
    assert application.payment == expected.payment
    assert application.cat == expected.cat
    assert application.net_to_receive == AMOUNT
    assert application.completed_step == 1
    # with the affiliate's data as the rules read them
    snapshot = application.affiliate_snapshot
    assert snapshot["status"] == AffiliateStatus.ACTIVE
    assert snapshot["employer"]["name"] == affiliate.employer.name
    assert snapshot["base_salary"] == "9500.00"
    assert snapshot["net_pay"] == "7800.00"
    assert snapshot["current_deductions"] == "0.00"
    assert snapshot["loans"] == []
    assert snapshot["synced_at"] == affiliate.synced_at.isoformat()
    assert snapshot["refreshed_at_start"] is False
    # and the applicant is told the data could not be refreshed
    shown = messages_of(response)
    assert any("No pudimos consultar la base de datos del Instituto" in m for m in shown)
    assert any(application.folio in m for m in shown)
    event = application.events.get()
    assert (event.to_status, event.actor) == (ApplicationStatus.DRAFT, applicant.user)


def test_start_refreshes_the_affiliate_and_decides_on_the_fresh_data(
    applicant, product, settings, tmp_path
):
    # Given the institute now reports the applicant blocked (the portal's copy is not)
    affiliate = applicant.affiliate
    path = tmp_path / "institute.sqlite3"
    settings.AFFILIATES_SOURCE = {**settings.AFFILIATES_SOURCE, "DSN": str(path)}
    create_institute_database(path, [source_row(affiliate, bloqueado="1")])
    assert not affiliate.is_blocked

    # When they ask for a loan
    response = start(applicant, product)

    # Then the fresh data decide: no draft, and the reason
    assert response.status_code == 400
    assert not LoanApplication.objects.exists()
    affiliate.refresh_from_db()
    assert affiliate.is_blocked
    assert any("bloqueo" in m for m in messages_of(response))


def test_start_with_fresh_data_records_them_as_refreshed(applicant, product, settings, tmp_path):
    affiliate = applicant.affiliate
    path = tmp_path / "institute.sqlite3"
    settings.AFFILIATES_SOURCE = {**settings.AFFILIATES_SOURCE, "DSN": str(path)}
    create_institute_database(path, [source_row(affiliate, neto_quincenal="8100.00")])

    start(applicant, product)

    snapshot = LoanApplication.objects.get().affiliate_snapshot
    assert snapshot["refreshed_at_start"] is True
    assert snapshot["net_pay"] == "8100.00"


def assert_back_to_simulator(response, *, product, amount, quincenas) -> None:
    # The simulator page itself, with status 400 and what the person chose still in the form.
    assert response.status_code == 400
    assert "loans/simulator.html" in [t.name for t in response.templates]
    html = response.content.decode()
    assert f'value="{amount}"' in html
    assert f'value="{quincenas}"' in html
    assert re.search(rf'<option value="{product}"[^>]*selected', html)
    assert not LoanApplication.objects.exists()


def test_an_amount_over_the_products_maximum_goes_back_to_the_simulator_saying_so(
    applicant, product
):
    response = start(applicant, product, amount="300000")

    assert_back_to_simulator(response, product="PC", amount="300000", quincenas=str(QUINCENAS))
    assert (
        "El monto máximo de este préstamo es $250,000.00; solicitaste $300,000.00."
        in messages_of(response)
    )


def test_a_term_out_of_range_goes_back_to_the_simulator_saying_so(applicant, product):
    response = start(applicant, product, quincenas=120)

    assert_back_to_simulator(response, product="PC", amount="60000.00", quincenas="120")
    assert "El plazo de este préstamo va de 24 a 96 quincenas; elegiste 120." in messages_of(
        response
    )


def test_a_product_not_for_the_applicants_status_is_refused(db):
    # Given a pensioner and a product for active workers only
    link = AffiliateLinkFactory(affiliate__status=AffiliateStatus.PENSIONER)
    client = Client()
    client.force_login(link.user)
    product = LoanProductFactory(code="PC")

    response = client.post(
        start_url(), {"product": "PC", "amount": "60000", "quincenas": str(QUINCENAS)}
    )

    # The simulator offers a pensioner no product for active workers, so there is no form to
    # refill here: the page says why, with status 400.
    assert response.status_code == 400
    assert "loans/simulator.html" in [t.name for t in response.templates]
    assert not LoanApplication.objects.exists()
    assert (
        "Este préstamo es para afiliados con estatus activo; tu estatus es pensionado."
        in messages_of(response)
    )
    assert product.applications.count() == 0


def test_a_blocked_affiliate_cannot_start(applicant, product):
    affiliate = applicant.affiliate
    affiliate.is_blocked = True
    affiliate.save(update_fields=["is_blocked"])

    response = start(applicant, product)

    assert response.status_code == 400
    assert not LoanApplication.objects.exists()
    assert any("bloqueo en el Instituto" in m for m in messages_of(response))


@pytest.mark.parametrize(
    ("amount", "quincenas", "message"),
    [
        ("sesenta mil", "48", "El monto debe ser una cantidad en pesos"),
        ("60000.123", "48", "El monto debe ser una cantidad en pesos"),
        ("0", "48", "El monto debe ser mayor que cero"),
        ("60000", "cuarenta", "El plazo debe ser un número entero de quincenas."),
        ("60000", "", "Elige en el simulador el plazo en quincenas."),
    ],
)
def test_unreadable_input_goes_back_to_the_simulator_with_what_to_fix(
    applicant, product, amount, quincenas, message
):
    response = applicant.post(
        start_url(), {"product": "PC", "amount": amount, "quincenas": quincenas}
    )

    assert response.status_code == 400
    assert "loans/simulator.html" in [t.name for t in response.templates]
    assert any(m.startswith(message) for m in messages_of(response))
    assert not LoanApplication.objects.exists()


def test_amounts_are_read_as_people_write_them(applicant, product):
    start(applicant, product, amount="$60,000.00")

    assert LoanApplication.objects.get().amount == AMOUNT


def test_a_product_not_on_offer_is_refused(applicant, db):
    LoanProductFactory(code="OLD", is_active=False)

    response = applicant.post(
        start_url(), {"product": "OLD", "amount": "60000", "quincenas": str(QUINCENAS)}
    )

    assert response.status_code == 400
    assert "El préstamo que elegiste no está disponible. Elige uno en el simulador." in (
        messages_of(response)
    )
    assert not LoanApplication.objects.exists()


def test_an_account_without_affiliation_is_sent_to_link_it(unlinked, product):
    response = start(unlinked, product)

    assert response.status_code == 302
    assert response.url == reverse("affiliates:link")
    assert any("primero vincula tu cuenta" in m for m in messages_of(response))
    assert not LoanApplication.objects.exists()


def test_anonymous_visitors_are_sent_to_log_in(anonymous, product):
    response = start(anonymous, product)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert not LoanApplication.objects.exists()


def test_start_only_acts_on_post(applicant, product):
    response = applicant.get(start_url(), {"product": "PC", "amount": "60000", "quincenas": "48"})

    assert response.status_code == 405
    assert not LoanApplication.objects.exists()


def test_a_double_post_of_start_creates_one_draft(applicant, product):
    # Given the applicant clicks "Solicitar este préstamo" twice
    first = start(applicant, product)
    second = start(applicant, product)

    # Then there is one draft, and both clicks lead to it
    application = LoanApplication.objects.get()
    assert first.url == second.url == step_url(application, 2)
    assert application.events.count() == 1
    assert any("ya estaba iniciada" in m for m in messages_of(second))


def test_with_an_open_draft_a_different_quote_leads_to_that_draft(applicant, product):
    # Given an open draft
    start(applicant, product)
    application = LoanApplication.objects.get()

    # When the applicant asks for another amount
    response = start(applicant, product, amount="40000")

    # Then no second draft: they are told to continue or cancel the open one
    assert LoanApplication.objects.count() == 1
    assert response.url == detail_url(application)
    assert "Ya tienes una solicitud en borrador: continúala o cancélala." in messages_of(response)


def test_after_cancelling_the_draft_a_new_one_can_start(applicant, product):
    start(applicant, product)
    first = LoanApplication.objects.get()
    application_cancel(application=first, actor=applicant.user, ip_address=None)

    start(applicant, product, amount="40000")

    assert LoanApplication.objects.filter(status=ApplicationStatus.DRAFT).get().amount == 40000


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_starts_create_one_draft(institute_down):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; the row lock is PostgreSQL's to prove.")
    # Given an applicant (created in this thread, committed: the test is transactional)
    link = AffiliateLinkFactory()
    product = LoanProductFactory(code="PC")
    barrier = threading.Barrier(2)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def post() -> None:
        try:
            client = Client()
            client.force_login(link.user)
            barrier.wait(timeout=10)
            response = client.post(
                start_url(), {"product": "PC", "amount": "60000", "quincenas": "48"}
            )
            statuses.append(response.status_code)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    # When two requests start an application at the same moment, each on its own connection
    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then exactly one draft exists
    assert not errors
    assert statuses == [302, 302]
    assert product.applications.count() == 1
    assert LoanApplication.objects.filter(applicant=link.user).count() == 1


# --- Steps ------------------------------------------------------------------------------------


def test_step_1_shows_the_quote_with_the_cat_legend_and_how_to_change_it(applicant, product):
    application = draft_for(applicant, product)

    response = applicant.get(step_url(application, 1))

    page = text(response)
    assert response.status_code == 200
    assert "Paso 1 de 5" in page
    for name in (
        "Tu préstamo",
        "Tus datos",
        "Tu cuenta bancaria",
        "Tus documentos",
        "Revisa y confirma",
    ):
        assert name in page
    assert "$60,000.00" in page
    assert "48 quincenas" in page
    assert f"{application.cat}%" in page
    assert "CAT sin IVA. Para fines informativos y de comparación." in page
    assert "cancela esta solicitud y empieza una nueva desde el simulador" in page
    simulator = f"{reverse('loans:simulator')}?product={product.code}&amp;amount=60000.00"
    assert simulator in response.content.decode()


def test_step_2_shows_the_institutes_data_read_only_and_proposes_the_contact(applicant, product):
    application = draft_for(applicant, product)
    affiliate = applicant.affiliate

    response = applicant.get(step_url(application, 2))

    page = text(response)
    assert "Paso 2 de 5" in page
    for value in (affiliate.full_name, affiliate.curp, affiliate.rfc, affiliate.employer.name):
        assert value in page
    form = response.context["form"]
    assert form["phone"].value() == affiliate.phone
    assert form["email"].value() == affiliate.email
    # Only phone and email are inputs.
    assert set(form.fields) == {"phone", "email"}


@pytest.mark.parametrize(
    ("phone", "email", "field", "message"),
    [
        ("473 123 456", "ana@example.org", "phone", "El teléfono debe tener 10 dígitos"),
        ("473-ABC-4567", "ana@example.org", "phone", "El teléfono solo lleva números"),
        (
            "0473123456",
            "ana@example.org",
            "phone",
            "Revisa tu teléfono: en México ninguna lada empieza con 0",
        ),
        ("4731234567", "ana@", "email", "Escribe un correo electrónico válido"),
        ("", "ana@example.org", "phone", "Escribe tu teléfono."),
    ],
)
def test_step_2_refuses_bad_contact_data_keeping_what_was_typed(
    applicant, product, phone, email, field, message
):
    application = draft_for(applicant, product)

    response = applicant.post(step_url(application, 2), {"phone": phone, "email": email})

    assert response.status_code == 400
    assert any(error.startswith(message) for error in response.context["form"].errors[field])
    assert message in text(response)
    html = response.content.decode()
    assert f'value="{phone}"' in html or not phone
    assert 'aria-invalid="true"' in html
    application.refresh_from_db()
    assert (application.phone, application.completed_step) == ("", 1)


def test_step_2_saves_the_phone_as_ten_digits_and_goes_to_step_3(applicant, product):
    application = draft_for(applicant, product)

    response = applicant.post(
        step_url(application, 2), {"phone": "+52 (473) 123-4567", "email": "Ana@Example.org"}
    )

    assert response.status_code == 302
    assert response.url == step_url(application, 3)
    application.refresh_from_db()
    assert (application.phone, application.email) == ("4731234567", "ana@example.org")
    assert application.completed_step == 2
    # Revisiting shows what was saved.
    form = applicant.get(step_url(application, 2)).context["form"]
    assert form["phone"].value() == "4731234567"


@pytest.mark.parametrize(
    ("clabe", "message"),
    [
        (VALID_CLABE[:-1] + str((int(VALID_CLABE[-1]) + 1) % 10), "El último dígito de la CLABE"),
        (with_check_digit("99918070123456789"), "Los primeros tres dígitos de la CLABE (999)"),
        ("0021807012345678A5", "La CLABE solo lleva números"),
        (VALID_CLABE[:17], "La CLABE tiene 18 dígitos; escribiste 17."),
        ("", "Escribe la CLABE de tu cuenta."),
    ],
    ids=["check-digit", "unknown-bank", "non-digits", "17-digits", "empty"],
)
def test_step_3_refuses_a_bad_clabe_saying_what_is_wrong(applicant, product, clabe, message):
    application = draft_for(applicant, product)
    applicant.post(step_url(application, 2), {"phone": "4731234567", "email": "a@example.org"})

    response = applicant.post(step_url(application, 3), {"clabe": clabe, "account_is_own": "on"})

    assert response.status_code == 400
    assert any(e.startswith(message) for e in response.context["form"].errors["clabe"])
    assert message in text(response)
    if clabe:
        assert f'value="{clabe}"' in response.content.decode()
    application.refresh_from_db()
    assert (application.clabe, application.completed_step) == ("", 2)


def test_step_3_requires_declaring_the_account_is_ones_own(applicant, product):
    application = draft_for(applicant, product)
    applicant.post(step_url(application, 2), {"phone": "4731234567", "email": "a@example.org"})

    response = applicant.post(step_url(application, 3), {"clabe": VALID_CLABE})

    assert response.status_code == 400
    assert "Marca la casilla para declarar que la cuenta está a tu nombre." in text(response)
    assert f'value="{VALID_CLABE}"' in response.content.decode()
    application.refresh_from_db()
    assert application.clabe == ""


def test_step_3_saves_the_clabe_and_names_its_bank(applicant, product):
    application = draft_for(applicant, product)
    applicant.post(step_url(application, 2), {"phone": "4731234567", "email": "a@example.org"})

    response = applicant.post(
        step_url(application, 3),
        {"clabe": "002 180 70123456789 5", "account_is_own": "on"},
    )

    assert response.status_code == 302
    assert response.url == step_url(application, 4)
    application.refresh_from_db()
    assert application.clabe == VALID_CLABE
    assert application.bank_name == "Banamex"
    assert application.account_is_own
    assert application.completed_step == 3
    assert "Guardamos tu CLABE de Banamex." in messages_of(response)
    assert "de Banamex" in text(applicant.get(step_url(application, 3)))


def test_a_later_step_cannot_be_opened_before_the_earlier_ones(applicant, product):
    application = draft_for(applicant, product)

    response = applicant.get(step_url(application, 4))

    assert response.status_code == 302
    assert response.url == step_url(application, 2)
    assert "Primero completa el paso 2: Tus datos." in messages_of(response)


@pytest.mark.parametrize("step", [0, 6, 99])
def test_steps_outside_the_wizard_do_not_exist(applicant, product, step):
    application = draft_for(applicant, product)

    assert applicant.get(step_url(application, step)).status_code == 404


def test_the_whole_wizard_ends_with_a_complete_draft_that_waits_for_the_signature(
    applicant, product
):
    # Given an applicant who started from the simulator
    start(applicant, product)
    application = LoanApplication.objects.get()

    # When they fill in every step
    fill_steps_2_to_4(applicant, application)
    review = applicant.get(step_url(application, 5))
    response = applicant.post(
        step_url(application, 5), {"privacy_accepted": "on", "terms_accepted": "on"}
    )

    # Then the review showed everything and linked the privacy notice
    page = text(review)
    assert "Paso 5 de 5" in page
    for value in ("4731234567", "ana@example.org", VALID_CLABE, "Banamex", "ine.pdf"):
        assert value in page
    assert reverse("privacy_notice_full") in review.content.decode()
    # and the draft is complete, still a draft, and its page says what comes next
    assert response.status_code == 302
    assert response.url == detail_url(application)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT
    assert application.completed_at is not None
    assert application.privacy_accepted_at is not None
    assert application.terms_accepted_at is not None
    assert application.completed_step == 5
    assert application.documents.count() == 3
    assert application.events.count() == 1
    detail = text(applicant.get(detail_url(application)))
    assert (
        "Tu solicitud está completa. El siguiente paso es firmarla con tu firma electrónica "
        "(e.firma): tendrás a la mano tu archivo .cer, tu archivo .key y su contraseña."
    ) in detail


def test_step_5_requires_both_acceptances(applicant, product):
    application = filled_draft_for(applicant, product)

    response = applicant.post(step_url(application, 5), {"terms_accepted": "on"})

    assert response.status_code == 400
    assert "Para continuar, acepta el aviso de privacidad." in text(response)
    # The box that was checked stays checked.
    assert re.search(r'name="terms_accepted"[^>]*checked', response.content.decode())
    application.refresh_from_db()
    assert application.completed_at is None


def test_a_double_post_of_the_review_completes_once(applicant, product):
    application = filled_draft_for(applicant, product)
    accepted = {"privacy_accepted": "on", "terms_accepted": "on"}
    applicant.post(step_url(application, 5), accepted)
    application.refresh_from_db()
    completed_at = application.completed_at

    second = applicant.post(step_url(application, 5), accepted)

    assert second.status_code == 302
    application.refresh_from_db()
    assert application.completed_at == completed_at


def test_eligibility_is_checked_again_when_completing(applicant, product):
    # Given a draft whose affiliate was blocked after it started
    application = filled_draft_for(applicant, product)
    affiliate = applicant.affiliate
    affiliate.is_blocked = True
    affiliate.save(update_fields=["is_blocked"])

    # When the applicant confirms
    response = applicant.post(
        step_url(application, 5), {"privacy_accepted": "on", "terms_accepted": "on"}
    )

    # Then the draft stays incomplete, and the page says why
    assert response.status_code == 409
    assert "bloqueo en el Instituto" in text(response)
    application.refresh_from_db()
    assert application.completed_at is None


def test_changing_data_after_completing_asks_to_confirm_again(applicant, product):
    application = complete_draft_for(applicant, product)

    applicant.post(step_url(application, 2), {"phone": "4777654321", "email": "ana@example.org"})

    application.refresh_from_db()
    assert application.phone == "4777654321"
    assert application.completed_at is None
    assert application.completed_step == 4


def test_saving_the_same_data_again_keeps_a_complete_draft_complete(applicant, product):
    application = complete_draft_for(applicant, product)

    applicant.post(step_url(application, 2), {"phone": "473 123 4567", "email": "ana@example.org"})

    application.refresh_from_db()
    assert application.completed_at is not None


def test_a_cancelled_application_can_no_longer_be_edited(applicant, product):
    # Given a cancelled application
    application = draft_for(applicant, product)
    application_cancel(application=application, actor=applicant.user, ip_address=None)

    # When a step is opened or posted (a tab left open)
    opened = applicant.get(step_url(application, 2))
    posted = applicant.post(
        step_url(application, 2), {"phone": "4731234567", "email": "ana@example.org"}
    )

    # Then it is sent to the application's page, and nothing is saved
    assert opened.status_code == 302
    assert opened.url == detail_url(application)
    assert posted.status_code == 409
    assert "está cancelada: ya no se puede modificar" in text(posted)
    application.refresh_from_db()
    assert application.phone == ""


def test_every_step_can_be_revisited(applicant, product):
    application = filled_draft_for(applicant, product)

    for step in range(1, 6):
        response = applicant.get(step_url(application, step))
        assert response.status_code == 200
        assert f"Paso {step} de 5" in text(response)


def test_step_4_lists_the_saved_documents(applicant, product):
    application = filled_draft_for(applicant, product)

    page = text(applicant.get(step_url(application, 4)))

    for name in ("ine.pdf", "recibo luz.png", "estado.jpg"):
        assert name in page
    assert SupportingDocument.objects.filter(application=application).count() == 3


def test_steps_refuse_a_post_without_the_csrf_token(applicant, product):
    # The step view checks CSRF itself (after the upload size check), not the middleware.
    application = draft_for(applicant, product)
    client = Client(enforce_csrf_checks=True)
    client.force_login(applicant.user)

    response = client.post(
        step_url(application, 2), {"phone": "4731234567", "email": "ana@example.org"}
    )

    assert response.status_code == 403
    application.refresh_from_db()
    assert application.phone == ""


def test_a_draft_of_a_product_no_longer_offered_cannot_be_completed(applicant, product):
    application = filled_draft_for(applicant, product)
    product.is_active = False
    product.save(update_fields=["is_active"])

    response = applicant.post(
        step_url(application, 5), {"privacy_accepted": "on", "terms_accepted": "on"}
    )

    assert response.status_code == 409
    assert "ya no se ofrece" in text(response)
    application.refresh_from_db()
    assert application.completed_at is None
