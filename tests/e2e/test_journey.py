"""The whole journey of a loan in Chromium, as the people involved use the portal.

A new visitor signs up, confirms the email, links the account to an affiliate, simulates and
asks for a loan, goes through every step of the wizard with real files, and signs the contract
with an e.firma of the demo PKI. An analyst takes it for review, an authorizer approves it (the
seal task runs as a worker would run it), Tesorería registers the SPEI payment. The applicant
sees the timeline and answers the survey; a manager sees the payment and the answer on the
dashboard; an anonymous visitor checks the contract from its QR link.

The applicant's part runs on a desktop and on a 360 px phone; staff always use a desktop. Every
step leaves a full-page screenshot in var/test-artifacts/journey/<viewport>/; every page of the
portal's own (the applicant's, the public's, the dashboard; not the Django admin) is checked
with axe-core (all its findings kept there too, in axe.json), and on the phone none may scroll
sideways. The problems of every page are reported together at the end, so one run shows all.
"""

import re
import shutil
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone
from playwright.sync_api import BrowserContext, Page, expect

from loans.models import ApplicationStatus, LoanApplication
from loans.signing import SEALED_CONTRACT_KIND
from signatures.models import SignedDocument
from surveys.models import Invitation, SurveyKind
from tests.builders import VALID_CLABE
from tests.e2e.axe import AccessibilityAudit
from tests.e2e.sessions import sign_in
from tests.e2e.signing_page import fill_in, press_sign
from tests.factories import AffiliateFactory
from tests.files import image_bytes, pdf_bytes
from tests.loans.factories import LoanProductFactory
from tests.signatures.credentials import Credentials

ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts" / "journey"

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}

EMAIL = "ana.journey@example.org"
PASSWORD = "Viaje-Completo-2026"
AMOUNT = Decimal("60000.00")
QUINCENAS = 48


@dataclass
class Journey:
    """What each step leaves behind: a numbered screenshot and the checks of its page."""

    viewport: str
    directory: Path
    audit: AccessibilityAudit = field(default_factory=AccessibilityAudit)
    overflows: list[str] = field(default_factory=list)
    steps: int = 0

    @classmethod
    def start(cls, viewport: str) -> "Journey":
        directory = ARTIFACTS / viewport
        # The screenshots of the last run only: a renamed step must not leave its old picture.
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        return cls(viewport=viewport, directory=directory)

    def screenshot(self, page: Page, step: str) -> None:
        self.steps += 1
        page.screenshot(path=self.directory / f"{self.steps:02d}-{step}.png", full_page=True)

    def portal_page(self, page: Page, step: str) -> None:
        """A page of the portal's own (not the Django admin's): a screenshot, axe-core, and on a
        phone no sideways scrolling."""
        self.screenshot(page, step)
        self.audit.check(page, f"{self.viewport}/{self.steps:02d}-{step}")
        width = page.viewport_size["width"]
        if width <= PHONE["viewport"]["width"]:
            scroll_width = page.evaluate("document.documentElement.scrollWidth")
            if scroll_width > width:
                self.overflows.append(f"{step} ({page.url}): {scroll_width} px wide on {width}")

    def admin_page(self, page: Page, step: str) -> None:
        """A page of the Django admin (its own templates and styles): a screenshot."""
        self.screenshot(page, step)

    def assert_clean(self) -> None:
        self.audit.write_report(self.directory / "axe.json")
        assert not self.overflows, "pages wider than the phone:\n" + "\n".join(self.overflows)
        self.audit.assert_clean()


@dataclass(frozen=True)
class Documents:
    identification: Path
    proof_of_address: Path
    bank_statement: Path


@pytest.fixture
def affiliate(db):
    """An active worker (18 years of seniority, $9,500.00 a quincena, no deductions) whom no
    account has linked yet, and the product she may ask for."""
    LoanProductFactory(code="PC", name="Préstamo personal para trabajadores activos")
    return AffiliateFactory(email="ana.afiliada@example.org")


@pytest.fixture
def efirma(demo_pki, affiliate, tmp_path) -> Credentials:
    """The affiliate's e.firma, issued by the demo PKI: .cer, .key and password."""
    issued = demo_pki.issue(
        curp=affiliate.curp,
        rfc=affiliate.rfc,
        name=affiliate.full_name.upper(),
        out_dir=tmp_path / "efirma",
    )
    return Credentials.from_issued(issued)


@pytest.fixture
def documents(tmp_path) -> Documents:
    """Real small files, as a phone's camera or a scanner would give them."""
    folder = tmp_path / "documentos"
    folder.mkdir()
    files = Documents(
        identification=folder / "ine.pdf",
        proof_of_address=folder / "recibo-luz.png",
        bank_statement=folder / "estado-de-cuenta.jpg",
    )
    files.identification.write_bytes(pdf_bytes())
    files.proof_of_address.write_bytes(image_bytes("PNG"))
    files.bank_statement.write_bytes(image_bytes("JPEG"))
    return files


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_a_loan_from_signup_to_payment_survey_dashboard_and_public_verification(
    viewport,
    new_context,
    live_server,
    institute_down,
    affiliate,
    efirma,
    documents,
    seal,
    analyst,
    authorizer,
    treasurer,
    manager,
    work_the_queue,
):
    journey = Journey.start(viewport)
    applicant = new_context(**VIEWPORTS[viewport]).new_page()

    # --- The applicant: an account, the affiliation, the loan, the signature ------------------
    sign_up_and_confirm(applicant, journey)
    link_affiliation(applicant, journey, affiliate)
    simulate_and_ask(applicant, journey)
    application = LoanApplication.objects.get(applicant__email=EMAIL)
    fill_in_the_wizard(applicant, journey, application, documents)
    sign_the_contract(applicant, journey, application, efirma)
    # A worker sends the notice of the signature (and the invitation to the short survey).
    work_the_queue()
    see_my_applications(applicant, journey, application, "Firmada")

    # --- The institute: review, approval and seal, payment -------------------------------------
    staff = {
        "analyst": staff_page(new_context, analyst, live_server),
        "authorizer": staff_page(new_context, authorizer, live_server),
        "treasurer": staff_page(new_context, treasurer, live_server),
    }
    take_for_review(staff["analyst"], journey, application)
    approve_and_seal(staff["authorizer"], journey, application, work_the_queue)
    register_payment(staff["treasurer"], journey, application)
    work_the_queue()

    # --- The applicant again: the timeline and the survey --------------------------------------
    see_my_applications(applicant, journey, application, "Pagada")
    follow_the_timeline(applicant, journey, application)
    answer_the_payment_survey(applicant, journey, application)

    # --- A manager: the dashboard -----------------------------------------------------------------
    read_the_dashboard(staff_page(new_context, manager, live_server), journey)

    # --- Anyone: the contract's QR code ---------------------------------------------------------
    visitor = new_context(**VIEWPORTS[viewport]).new_page()
    verify_the_contract(visitor, journey, application)

    journey.assert_clean()


# --- The applicant ------------------------------------------------------------------------------


def messages(page: Page):
    """The notices the page opens with (django.contrib.messages)."""
    return page.locator("main .messages")


def sign_up_and_confirm(page: Page, journey: Journey) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Préstamo personal en línea")
    journey.portal_page(page, "inicio")

    # A visitor who has no account looks for one on the login page, then signs up from there.
    page.get_by_role("main").get_by_role("link", name="Iniciar sesión").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Iniciar sesión")
    journey.portal_page(page, "iniciar-sesion")
    page.get_by_role("link", name="Crea tu cuenta").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Crear cuenta")
    journey.portal_page(page, "crear-cuenta")

    page.get_by_label("Correo electrónico").fill(EMAIL)
    page.get_by_label("Contraseña", exact=True).fill(PASSWORD)
    page.get_by_label("Escribe otra vez la contraseña").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Crear cuenta").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirma tu correo electrónico")
    journey.portal_page(page, "correo-enviado")

    # The live server's thread sent the email into the test's outbox.
    (message,) = [email for email in mail.outbox if EMAIL in email.to]
    confirmation_path = re.search(r"/cuenta/confirm-email/[^/\s]+/", message.body).group()
    page.goto(confirmation_path)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirmar correo electrónico")
    journey.portal_page(page, "confirmar-correo")
    page.get_by_role("button", name="Confirmar mi correo").click()

    # Confirmed in the browser that signed up, the person is signed in at once
    # (ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION), and an account without an affiliation is sent to
    # link it.
    expect(page.get_by_role("heading", level=1)).to_have_text("Vincula tu cuenta con tu afiliación")
    expect(messages(page)).to_contain_text(
        "Para ver tu afiliación, primero vincula tu cuenta con tus datos de afiliado."
    )
    expect(page.get_by_role("button", name="Cerrar sesión")).to_be_visible()


def link_affiliation(page: Page, journey: Journey, affiliate) -> None:
    journey.portal_page(page, "vincular-afiliacion")
    page.get_by_label("CURP").fill(affiliate.curp.lower())
    page.get_by_label("Número de afiliación").fill(affiliate.number)
    page.get_by_label("Fecha de nacimiento").fill(affiliate.birth_date.isoformat())
    # As the paycheck writes it: "$7,800.00".
    page.get_by_label("Neto de tu última quincena").fill(f"${affiliate.net_pay:,}")
    page.get_by_role("button", name="Vincular mi cuenta").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Mi afiliación")
    expect(messages(page)).to_contain_text("Tu cuenta quedó vinculada con tu afiliación.")
    expect(page.locator(".definition-list").first).to_contain_text(affiliate.curp)
    journey.portal_page(page, "mi-afiliacion")


def simulate_and_ask(page: Page, journey: Journey) -> None:
    navigation = page.get_by_role("navigation", name="Navegación principal")
    navigation.get_by_role("link", name="Simulador").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Simulador de préstamo")
    results = page.locator("#resultados")
    expect(results).to_contain_text("Puedes solicitar hasta")

    # The results follow what is typed (htmx, 400 ms after the last keystroke): wait for the
    # one answer before asking for the loan, as a person waits to read it.
    page.get_by_label("Monto que quieres pedir").fill("60,000")
    with page.expect_response(lambda response: "/simulador/" in response.url):
        page.get_by_label("Plazo en quincenas").fill(str(QUINCENAS))
    expect(results).to_contain_text(f"$60,000.00 a {QUINCENAS} quincenas")
    expect(results).to_contain_text("Puedes solicitar este préstamo")
    journey.portal_page(page, "simulador")

    results.get_by_role("button", name="Solicitar este préstamo").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tus datos")


def fill_in_the_wizard(
    page: Page, journey: Journey, application: LoanApplication, documents: Documents
) -> None:
    assert (application.amount, application.quincenas) == (AMOUNT, QUINCENAS)
    expect(messages(page)).to_contain_text(f"Iniciaste tu solicitud {application.folio}")
    steps = page.get_by_role("navigation", name="Pasos de la solicitud")

    # Step 1, the quote, is behind; the applicant looks at it again before going on.
    steps.get_by_role("link", name="1. Tu préstamo").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tu préstamo")
    expect(page.locator("main")).to_contain_text("$60,000.00")
    journey.portal_page(page, "paso-1-prestamo")
    page.get_by_role("link", name="Continuar").click()

    # Step 2: how to reach them (filled in from the institute's data).
    expect(page.get_by_role("heading", level=1)).to_have_text("Tus datos")
    page.get_by_label("Teléfono celular o fijo").fill("473 123 4567")
    page.get_by_label("Correo electrónico").fill(EMAIL)
    journey.portal_page(page, "paso-2-datos")
    page.get_by_role("button", name="Guardar y continuar").click()

    # Step 3: the account for the transfer.
    expect(page.get_by_role("heading", level=1)).to_have_text("Tu cuenta bancaria")
    page.get_by_label("CLABE").fill(VALID_CLABE)
    page.get_by_label("Declaro que la cuenta está a mi nombre.").check()
    journey.portal_page(page, "paso-3-cuenta")
    page.get_by_role("button", name="Guardar y continuar").click()

    # Step 4: three documents, each uploaded from its own card.
    expect(page.get_by_role("heading", level=1)).to_have_text("Tus documentos")
    journey.portal_page(page, "paso-4-documentos")
    uploads = (
        ("Identificación oficial", documents.identification),
        ("Comprobante de domicilio", documents.proof_of_address),
        ("Estado de cuenta con la CLABE", documents.bank_statement),
    )
    for kind, path in uploads:
        card = page.locator("section.card", has=page.get_by_role("heading", name=kind))
        card.get_by_label("Archivo").set_input_files(path)
        card.get_by_role("button", name="Subir").click()
        expect(messages(page)).to_contain_text(f"Guardamos tu {kind.lower()}")

    # After the third one the wizard opens step 5: review and confirm.
    expect(page.get_by_role("heading", level=1)).to_have_text("Revisa y confirma")
    for _kind, path in uploads:
        expect(page.locator("main")).to_contain_text(path.name)
    journey.portal_page(page, "paso-5-revision")
    page.get_by_label("He leído el aviso de privacidad integral").check()
    page.get_by_label("Confirmo que mis datos son correctos").check()
    page.get_by_role("button", name="Confirmar solicitud").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Solicitud {application.folio}")
    expect(page.get_by_text("Solicitud completa")).to_be_visible()
    journey.portal_page(page, "solicitud-completa")


def sign_the_contract(
    page: Page, journey: Journey, application: LoanApplication, efirma: Credentials
) -> None:
    page.get_by_role("link", name="Firmar contrato").click()
    # Signing asks for the password again: the login by the confirmation link is not one.
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirma que eres tú")
    journey.portal_page(page, "confirma-contrasena")
    page.get_by_label("Contraseña", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Continuar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Firma tu contrato")
    expect(page.get_by_role("button", name="Firmar contrato")).to_be_enabled()
    journey.portal_page(page, "firma")

    fill_in(page, efirma)
    press_sign(page)
    expect(page.get_by_role("heading", name="Contrato firmado")).to_be_visible()
    journey.portal_page(page, "firma-hecha")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SIGNED

    page.get_by_role("link", name="Ir a mi solicitud").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Firmada")
    journey.portal_page(page, "solicitud-firmada")


def see_my_applications(
    page: Page, journey: Journey, application: LoanApplication, status: str
) -> None:
    navigation = page.get_by_role("navigation", name="Navegación principal")
    navigation.get_by_role("link", name="Mis solicitudes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mis solicitudes")
    row = page.get_by_role("row", name=re.compile(application.folio))
    expect(row).to_contain_text(status)
    expect(row).to_contain_text("$60,000.00")
    # The notice of the last change, until its application's page is opened.
    expect(page.get_by_role("main")).to_contain_text(
        f"Tu solicitud {application.folio}: {status.lower()}"
    )
    journey.portal_page(page, f"mis-solicitudes-{status.lower()}")


def follow_the_timeline(page: Page, journey: Journey, application: LoanApplication) -> None:
    page.get_by_role("row", name=re.compile(application.folio)).get_by_role(
        "link", name=application.folio
    ).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pagada")
    expect(page.get_by_text("Tu préstamo ya se depositó.")).to_be_visible()
    timeline = page.locator("section", has=page.get_by_role("heading", name="Historial"))
    expect(timeline.get_by_role("listitem")).to_have_count(5)
    for sentence in (
        "Creaste la solicitud.",
        "Firmaste la solicitud con tu firma electrónica",
        "El Instituto comenzó a revisar tu solicitud.",
        "El Instituto aprobó tu solicitud.",
        "El Instituto depositó tu préstamo por SPEI en tu cuenta.",
    ):
        expect(timeline).to_contain_text(sentence)
    journey.portal_page(page, "solicitud-pagada")


def answer_the_payment_survey(page: Page, journey: Journey, application: LoanApplication) -> None:
    banner = page.get_by_role("complementary", name="Encuesta pendiente")
    expect(banner).to_contain_text(
        f"Tienes una encuesta pendiente sobre tu préstamo {application.folio}"
    )
    banner.get_by_role("link", name="Responder (2 minutos)").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "¿Cómo te fue con tu préstamo en línea?"
    )
    journey.portal_page(page, "encuesta")
    for code, value in (
        ("satisfaccion", "5"),
        ("facilidad", "5"),
        ("tiempo", "4"),
        ("recomendacion", "10"),
        ("oficina", "0"),
    ):
        page.locator(f'input[name="{code}"][value="{value}"]').check()
    page.get_by_role("textbox", name="¿Algo que quieras contarnos?").fill(
        "Todo en línea, sin ir a la oficina."
    )
    page.get_by_role("button", name="Enviar respuestas").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("¡Gracias por responder!")
    journey.portal_page(page, "encuesta-gracias")
    invitation = Invitation.objects.get(application=application, kind=SurveyKind.PAYMENT)
    assert invitation.answered_at is not None


# --- Staff --------------------------------------------------------------------------------------


def staff_page(new_context, persona, live_server) -> Page:
    context: BrowserContext = new_context(**DESKTOP)
    sign_in(context, persona, live_server)
    return context.new_page()


def open_in_admin(page: Page, application: LoanApplication) -> None:
    page.goto("/admin/loans/loanapplication/")
    page.get_by_role("link", name=application.folio).click()
    expect(page.locator("#content")).to_contain_text(application.folio)


def staff_action(page: Page, journey: Journey, button: str, question: str, step: str) -> None:
    """A staff action: the button, its confirmation page (GET only shows), the POST."""
    page.locator(".object-tools").get_by_role("link", name=button).click()
    expect(page.locator("#content")).to_contain_text(question)
    journey.admin_page(page, f"{step}-confirmar")
    page.get_by_role("button", name=button).click()
    expect(page.locator(".messagelist")).to_contain_text(f"{button}, hecho.")


def admin_status(page: Page):
    return page.locator("#content").get_by_text(re.compile(r"^Estado: "))


def take_for_review(page: Page, journey: Journey, application: LoanApplication) -> None:
    open_in_admin(page, application)
    expect(admin_status(page)).to_have_text("Estado: Firmada")
    journey.admin_page(page, "analista-solicitud")
    staff_action(
        page, journey, "Tomar para revisión", "¿Tomar esta solicitud para revisarla?", "analista"
    )
    expect(admin_status(page)).to_have_text("Estado: En revisión")
    journey.admin_page(page, "analista-en-revision")


def approve_and_seal(
    page: Page, journey: Journey, application: LoanApplication, work_the_queue
) -> None:
    open_in_admin(page, application)
    staff_action(page, journey, "Aprobar", "¿Aprobar este préstamo?", "autorizador")
    # The seal is a task queued after the approval committed; until a worker runs it:
    expect(admin_status(page)).to_have_text("Estado: Aprobada, sello pendiente")
    journey.admin_page(page, "autorizador-aprobada")

    assert "loans.tasks.seal_after_approval" in work_the_queue()
    page.reload()
    expect(admin_status(page)).to_have_text("Estado: Aprobada")
    contract = page.locator("fieldset", has=page.get_by_role("heading", name="Contrato firmado"))
    expect(contract).to_contain_text("Todas las firmas son válidas.")
    expect(contract.locator("tbody tr")).to_have_count(2)
    journey.admin_page(page, "autorizador-sellada")
    assert SignedDocument.objects.filter(
        reference=application.folio, kind=SEALED_CONTRACT_KIND
    ).exists()


def register_payment(page: Page, journey: Journey, application: LoanApplication) -> None:
    open_in_admin(page, application)
    page.locator(".object-tools").get_by_role("link", name="Registrar pago").click()
    expect(page.locator("#content")).to_contain_text("Registra la transferencia SPEI")
    page.get_by_label("Referencia SPEI").fill("PL2026SPEI0001")
    page.get_by_label("Fecha de pago").fill(timezone.localdate().isoformat())
    page.get_by_label("Monto pagado").fill(f"{AMOUNT}")
    page.get_by_label("CLABE de destino").fill(VALID_CLABE)
    journey.admin_page(page, "tesoreria-pago")
    page.get_by_role("button", name="Registrar pago").click()

    expect(page.locator(".messagelist")).to_contain_text("Registrar pago, hecho.")
    expect(admin_status(page)).to_have_text("Estado: Pagada")
    journey.admin_page(page, "tesoreria-pagada")
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DISBURSED


def read_the_dashboard(page: Page, journey: Journey) -> None:
    page.goto("/tablero/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tablero del programa")
    figures = page.get_by_role("list", name="Cifras principales")

    def figure(label: str):
        return figures.locator(".kpi", has_text=label).locator(".kpi__value")

    expect(figure("Préstamos pagados")).to_have_text("1")
    expect(figure("Monto pagado")).to_have_text("$60,000.00")
    expect(figure("Satisfechos")).to_have_text(re.compile(r"^100(\.0)? ?%$"))
    answers = page.get_by_role("row", name=re.compile("^Respuestas después del pago"))
    expect(answers.get_by_role("cell")).to_have_text("1")
    journey.portal_page(page, "gerencia-tablero")


# --- The public ---------------------------------------------------------------------------------


def verify_the_contract(page: Page, journey: Journey, application: LoanApplication) -> None:
    page.goto("/")
    page.get_by_role("link", name="Verificar un contrato firmado").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Verificar un documento firmado")
    journey.portal_page(page, "verificar")

    # The QR code printed on the contract carries PORTAL_BASE_URL + this path.
    (token,) = set(
        SignedDocument.objects.filter(reference=application.folio).values_list(
            "verification_token", flat=True
        )
    )
    page.goto(f"/verificar/{token}/")
    expect(page.get_by_role("heading", level=2, name="Resultado")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(
        "El documento está íntegro y todas sus firmas son válidas."
    )
    expect(page.locator(".verify__signature")).to_have_count(2)
    expect(page.get_by_role("main")).to_contain_text(f"Documento del folio {application.folio}")
    journey.portal_page(page, "verificar-resultado")

    with page.expect_download() as download:
        page.get_by_role("link", name="Descargar el reporte en PDF").click()
    report = download.value
    assert report.suggested_filename.startswith("reporte-de-verificacion-")
    assert Path(report.path()).read_bytes().startswith(b"%PDF")
