"""Demo loan applications for `seed_demo`: one in every state, made through the services.

Each scenario belongs to an account of its own (solicitante1…10@demo.test, linked to an
affiliate no other demo account uses, with a demo e.firma): a person has at most one open
draft, and activo@, pensionado@ and jubilado@demo.test must stay free to walk through the
portal from the simulator to the signature.

Nothing here assigns a state. Every step is the service the portal's views and the admin call
(the wizard, `loans.signing` with the applicant's demo .key, the review services acted by the
demo staff, one per group so separation of duties holds, the seal task), so the events, the
signed and sealed PDFs and the payment are what a real walk leaves behind.

Idempotent per account: a scenario runs only while its account has no application at all, and
in one transaction, so a failure (the PKI not answering) leaves nothing half done and the next
run completes what is missing; whatever people did since with the demo applications stays.
"""

import base64
import hashlib
import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import requests
from asn1crypto import crl
from clabe import compute_control_digit
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import load_der_private_key
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from affiliates.models import Affiliate, AffiliateLoan, AffiliateStatus
from demo.pki.authority import DEMO_KEY_PASSWORD, DemoPKI
from demo.pki.server import DemoPKIServer
from loans.documents import DocumentRejected
from loans.eligibility import evaluate
from loans.models import ApplicationStatus, DocumentKind, LoanApplication, LoanProduct
from loans.selectors import affiliate_facts, product_terms
from loans.services import (
    ApplicationError,
    TransferData,
    application_add_document,
    application_approve,
    application_cancel,
    application_complete,
    application_expire,
    application_register_payment,
    application_reject,
    application_return,
    application_save_bank_account,
    application_save_contact,
    application_start,
    application_take_for_review,
)
from loans.signing import (
    SEALED_CONTRACT_KIND,
    application_sign_finish,
    application_sign_prepare,
    application_signed_contract,
)
from loans.tasks import notify_event, seal_contract
from loans.workflow import STATES
from signatures.pades import ServiceUnavailable
from signatures.rendering import PdfRenderingError
from signatures.seal import SealUnavailable
from signatures.services import SigningError

S = ApplicationStatus

# What a staff member would have typed; stored as data, like any reason typed in the admin.
RETURN_REASON = (
    "La foto de la identificación oficial está borrosa: súbela de nuevo, legible y por ambos "
    "lados, y firma otra vez."
)
REJECTION_REASON = "documentos"  # RejectionReason.DOCUMENTS
REJECTION_DETAILS = "El estado de cuenta no muestra la CLABE que registraste en la solicitud."
CANCEL_REASON = "Ya no necesito el préstamo."


@dataclass(frozen=True)
class Scenario:
    """One demo application: whose, for what, and the steps that bring it to its state."""

    email: str
    # The state the steps leave it in.
    status: str
    affiliate_status: str
    product_code: str
    amount: Decimal
    quincenas: int
    steps: tuple[str, ...]


_STARTED = ("start", "contact")
_COMPLETE = (*_STARTED, "bank_account", "documents", "complete")
_SIGNED = (*_COMPLETE, "sign")
_REVIEWED = (*_SIGNED, "review")
_APPROVED = (*_REVIEWED, "approve", "seal")

_ACTIVE, _PENSIONER, _RETIREE = (
    AffiliateStatus.ACTIVE,
    AffiliateStatus.PENSIONER,
    AffiliateStatus.RETIREE,
)

SCENARIOS: tuple[Scenario, ...] = tuple(
    Scenario(
        f"solicitante{number}@demo.test", status, affiliate, product, Decimal(amount), term, steps
    )
    for number, (status, affiliate, product, amount, term, steps) in enumerate(
        [
            # state, affiliate, product, amount, quincenas, steps
            (S.DRAFT, _ACTIVE, "PC", "30000.00", 48, _STARTED),
            (S.DRAFT, _ACTIVE, "PC", "25000.00", 36, _COMPLETE),
            (S.SIGNED, _PENSIONER, "PJ", "15000.00", 24, _SIGNED),
            (S.IN_REVIEW, _ACTIVE, "PC", "40000.00", 72, _REVIEWED),
            (S.RETURNED, _RETIREE, "PJ", "20000.00", 36, (*_REVIEWED, "return")),
            (S.APPROVED, _ACTIVE, "PC", "35000.00", 48, _APPROVED),
            (S.DISBURSED, _ACTIVE, "PC", "50000.00", 96, (*_APPROVED, "pay")),
            (S.REJECTED, _ACTIVE, "PC", "20000.00", 24, (*_REVIEWED, "reject")),
            (S.CANCELLED, _PENSIONER, "PJ", "10000.00", 24, (*_SIGNED, "cancel")),
            (S.EXPIRED, _ACTIVE, "PC", "15000.00", 24, (*_STARTED, "expire")),
        ],
        start=1,
    )
)


@dataclass(frozen=True)
class DemoStaff:
    analyst: AbstractBaseUser
    authorizer: AbstractBaseUser
    treasurer: AbstractBaseUser


@dataclass(frozen=True)
class DemoEfirma:
    certificate_path: Path
    key_path: Path


@dataclass(frozen=True)
class DemoApplicant:
    user: AbstractBaseUser
    affiliate: Affiliate
    efirma: DemoEfirma


class ShowcaseError(Exception):
    """A demo application could not be made; `message` says why, for the person seeding."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- Affiliates and e.firmas ------------------------------------------------------------------


def scenario_affiliate(scenario: Scenario) -> Affiliate | None:
    """An unblocked, unlinked affiliate without loans to whom the scenario's loan is granted.

    From the highest number down: the affiliates seed_demo prints for trying the link by hand
    are the lowest-numbered ones, and stay the same with or without the demo applications.
    """
    product = LoanProduct.objects.prefetch_related("seniority_bands").get(
        code=scenario.product_code
    )
    terms = product_terms(product=product)
    today = timezone.localdate()
    candidates = (
        Affiliate.objects.filter(
            status=scenario.affiliate_status, is_blocked=False, link__isnull=True
        )
        .exclude(Exists(AffiliateLoan.objects.filter(affiliate=OuterRef("pk"))))
        .order_by("-number")
    )
    for affiliate in candidates:
        eligibility = evaluate(
            affiliate=affiliate_facts(affiliate=affiliate, on=today),
            product=terms,
            amount=scenario.amount,
            quincenas=scenario.quincenas,
        )
        if eligibility.eligible:
            return affiliate
    return None


def demo_efirma(pki: DemoPKI, affiliate: Affiliate) -> DemoEfirma:
    """The affiliate's demo e.firma (`<curp>.cer` and `.key`), issued the first time only."""
    certificate = pki.demo_users_dir / f"{affiliate.curp}.cer"
    if not certificate.exists():
        pki.issue(
            curp=affiliate.curp,
            rfc=affiliate.rfc,
            name=affiliate.full_name.upper(),
            out_dir=pki.demo_users_dir,
            password=DEMO_KEY_PASSWORD,
        )
    return DemoEfirma(certificate, certificate.with_suffix(".key"))


# --- The demo PKI's services while seeding ------------------------------------------------------


@contextmanager
def demo_pki_served(pki: DemoPKI, *, host: str, port: int) -> Iterator[bool]:
    """OCSP, CRL and TSA answering at the PKI's address for the duration of the block.

    `make run` seeds before it starts `demo_pki serve`, so usually they are served here, in a
    thread; when a `demo_pki serve` of this same PKI already answers, it is used instead. Yields
    whether they are served here. Raises ShowcaseError when something else holds the port.
    """
    if _pki_answers(pki):
        yield False
        return
    try:
        server = DemoPKIServer(pki, host, port)
    except SystemExit as error:
        # Werkzeug's make_server prints the bind error and exits instead of raising; the port
        # was free a moment ago, so something took it in between.
        raise ShowcaseError(
            f"No se pudo servir la PKI de demostración en {host}:{port}: el puerto está ocupado."
        ) from error
    with server:
        yield True


def _pki_answers(pki: DemoPKI) -> bool:
    """True when this PKI answers at its address, False when nothing listens there."""
    url = pki.service_url("crl")
    try:
        response = requests.get(url, timeout=5)
    except requests.ConnectionError:
        return False
    except requests.RequestException as error:
        raise ShowcaseError(f"La PKI de demostración no responde en {url}: {error}") from error
    # The intermediate's CRL is signed with this PKI's intermediate key: another directory's
    # `demo_pki serve` would answer too, but with the wrong key, and every signature would fail.
    served = None
    if response.status_code == 200:
        try:
            served = crl.CertificateList.load(response.content).authority_key_identifier
        except (ValueError, TypeError):
            served = None
    if served is None or served != pki.asn1_certificate("interm").key_identifier:
        raise ShowcaseError(
            f"En {pki.url_prefix} responde otro programa u otra PKI de demostración (¿un "
            "«demo_pki serve» con otro DEMO_PKI_DIR?): deténgalo."
        )
    return True


# --- The scenarios -------------------------------------------------------------------------------


def showcase_seed(
    *,
    applicants: dict[str, DemoApplicant],
    staff: DemoStaff,
) -> None:
    """Make the application of every scenario whose account has none.

    `applicants` maps each scenario's email to its account; scenarios missing from it are
    left out. Raises ShowcaseError at the first scenario that fails (its transaction is
    undone; those made before it stay).
    """
    for scenario in SCENARIOS:
        applicant = applicants.get(scenario.email)
        if applicant is None:
            continue
        if LoanApplication.objects.filter(applicant=applicant.user).exists():
            continue
        walk = _Walk(scenario=scenario, applicant=applicant, staff=staff)
        try:
            with transaction.atomic():
                application = walk.run()
        except ApplicationError as error:
            raise ShowcaseError(f"{scenario.email}: {error.message}") from error
        except (SigningError, DocumentRejected) as error:
            raise ShowcaseError(f"{scenario.email}: {error.message}") from error
        except (ServiceUnavailable, SealUnavailable, PdfRenderingError) as error:
            raise ShowcaseError(f"{scenario.email}: {error}") from error
        _notices_posted(application)


def _notices_posted(application: LoanApplication) -> None:
    """The applicant's notices of each event, in Mis solicitudes now, and no email sent.

    The transitions queued `notify_event` for the worker; run here first, it writes the notices
    and marks them emailed, so the worker's runs do nothing: otherwise `make run` would print
    some twenty emails to @demo.test over its banner, and a training server with real SMTP
    would send them to addresses that cannot exist.
    """
    events = (
        application.events.filter(
            to_status__in=[status for status, state in STATES.items() if state.notice]
        )
        .order_by("sequence")
        .values_list("pk", flat=True)
    )
    discard = get_connection("django.core.mail.backends.dummy.EmailBackend")
    for event_id in events:
        notify_event(event_id, connection=discard)


def showcase_applications() -> list[LoanApplication]:
    """The demo applications as they are now, in scenario order."""
    by_email: dict[str, LoanApplication] = {}
    applications = (
        LoanApplication.objects.filter(
            applicant__email__in=[scenario.email for scenario in SCENARIOS]
        )
        .select_related("applicant", "affiliate", "product")
        .order_by("created_at", "pk")
    )
    for application in applications:
        # The scenario's own is the first; a demo visitor may have started others since.
        by_email.setdefault(application.applicant.email, application)
    return [by_email[scenario.email] for scenario in SCENARIOS if scenario.email in by_email]


def showcase_state(application: LoanApplication) -> str:
    """The state as the summary prints it, with what the status alone does not say."""
    label = str(application.get_status_display())
    if application.status == S.DRAFT:
        ready = application.completed_at is not None
        return f"{label} ({'completa, lista para firmar' if ready else 'incompleta'})"
    if application.status in (S.APPROVED, S.DISBURSED):
        contract = application_signed_contract(application)
        sealed = contract is not None and contract.kind == SEALED_CONTRACT_KIND
        return f"{label} ({'contrato sellado' if sealed else 'sello pendiente'})"
    return label


class _Walk:
    """The steps of one scenario, each the service the portal would call for that click."""

    def __init__(self, *, scenario: Scenario, applicant: DemoApplicant, staff: DemoStaff) -> None:
        self.scenario = scenario
        self.user = applicant.user
        self.affiliate = applicant.affiliate
        self.efirma = applicant.efirma
        self.staff = staff
        self.application: LoanApplication | None = None
        # Deterministic per person, so a re-seeded database tells the same story.
        self.digits = str(int(hashlib.sha256(self.affiliate.curp.encode()).hexdigest(), 16))

    def run(self) -> LoanApplication:
        steps: dict[str, Callable[[], None]] = {
            "start": self.start,
            "contact": self.contact,
            "bank_account": self.bank_account,
            "documents": self.documents,
            "complete": self.complete,
            "sign": self.sign,
            "review": self.review,
            "return": self.send_back,
            "approve": self.approve,
            "seal": self.seal,
            "pay": self.pay,
            "reject": self.reject,
            "cancel": self.cancel,
            "expire": self.expire,
        }
        for step in self.scenario.steps:
            steps[step]()
        assert self.application is not None  # noqa: S101 - every scenario starts with "start"
        self.application.refresh_from_db()
        return self.application

    @property
    def clabe(self) -> str:
        # Banks the clabe package knows (Banamex, BBVA, Santander, Banorte), León's plaza.
        bank = ("002", "012", "014", "072")[int(self.digits[-1]) % 4]
        first_17 = f"{bank}225{self.digits[:11]}"
        return first_17 + compute_control_digit(first_17)

    def start(self) -> None:
        product = LoanProduct.objects.get(code=self.scenario.product_code)
        self.application = application_start(
            applicant=self.user,
            affiliate=self.affiliate,
            product=product,
            amount=self.scenario.amount,
            quincenas=self.scenario.quincenas,
            # seed_demo synced the affiliates from the institute's database a moment ago.
            affiliate_refreshed=True,
            ip_address=None,
        ).application

    def contact(self) -> None:
        application_save_contact(
            application=self.application, phone=f"477{self.digits[:7]}", email=self.user.email
        )

    def bank_account(self) -> None:
        application_save_bank_account(
            application=self.application, clabe=self.clabe, account_is_own=True
        )

    def documents(self) -> None:
        affiliate = self.affiliate
        files = (
            (
                DocumentKind.IDENTIFICATION,
                "identificacion.png",
                "image/png",
                _document_image(
                    "IDENTIFICACIÓN OFICIAL",
                    [affiliate.full_name.upper(), f"CURP {affiliate.curp}"],
                    "PNG",
                ),
            ),
            (
                DocumentKind.PROOF_OF_ADDRESS,
                "comprobante de domicilio.pdf",
                "application/pdf",
                _document_image(
                    "COMPROBANTE DE DOMICILIO",
                    [affiliate.full_name.upper(), f"{affiliate.municipality}, Guanajuato"],
                    "PDF",
                ),
            ),
            (
                DocumentKind.BANK_STATEMENT,
                "estado de cuenta.jpg",
                "image/jpeg",
                _document_image(
                    "ESTADO DE CUENTA", [affiliate.full_name.upper(), f"CLABE {self.clabe}"], "JPEG"
                ),
            ),
        )
        for kind, name, content_type, content in files:
            application_add_document(
                application=self.application,
                kind=kind,
                file=SimpleUploadedFile(name, content, content_type),
            )

    def complete(self) -> None:
        application_complete(
            application=self.application, privacy_accepted=True, terms_accepted=True
        )

    def sign(self) -> None:
        """What the signing page does on the applicant's device, with their demo .key."""
        prepared = application_sign_prepare(
            application=self.application,
            user=self.user,
            certificate_data=self.efirma.certificate_path.read_bytes(),
        )
        key = load_der_private_key(self.efirma.key_path.read_bytes(), DEMO_KEY_PASSWORD.encode())
        signature = key.sign(prepared.signed_attributes, padding.PKCS1v15(), hashes.SHA256())
        application_sign_finish(
            application=self.application,
            user=self.user,
            token=prepared.token,
            signature_b64=base64.b64encode(signature).decode("ascii"),
            ip_address=None,
        )

    def review(self) -> None:
        application_take_for_review(
            application=self.application, actor=self.staff.analyst, ip_address=None
        )

    def send_back(self) -> None:
        application_return(
            application=self.application,
            actor=self.staff.analyst,
            reason=RETURN_REASON,
            ip_address=None,
        )

    def reject(self) -> None:
        application_reject(
            application=self.application,
            actor=self.staff.analyst,
            reason_code=REJECTION_REASON,
            details=REJECTION_DETAILS,
            ip_address=None,
        )

    def approve(self) -> None:
        application_approve(
            application=self.application, actor=self.staff.authorizer, ip_address=None
        )

    def seal(self) -> None:
        # The task the approval queues, run now: the demo shows the sealed contract at once
        # (the queued run finds it sealed and does nothing).
        if not seal_contract(self.application.pk):
            raise ShowcaseError(
                f"{self.scenario.email}: el sello institucional no se pudo aplicar (la TSA o el "
                "OCSP de la PKI de demostración no respondieron)."
            )

    def pay(self) -> None:
        self.application.refresh_from_db()
        application_register_payment(
            application=self.application,
            actor=self.staff.treasurer,
            transfer=TransferData(
                spei_reference=f"DEMO{self.application.folio.replace('-', '')}",
                paid_on=timezone.localdate(),
                amount=self.application.net_to_receive,
                clabe=self.application.clabe,
            ),
            ip_address=None,
        )

    def cancel(self) -> None:
        application_cancel(
            application=self.application, actor=self.user, reason=CANCEL_REASON, ip_address=None
        )

    def expire(self) -> None:
        application_expire(application=self.application)


def _document_image(title: str, lines: list[str], image_format: str) -> bytes:
    """A small picture of a document, marked as a demo, as PNG, JPEG or (one-page) PDF."""
    image = Image.new("RGB", (640, 400), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((8, 8, 631, 391), outline="navy", width=4)
    draw.text((32, 32), title, fill="navy", font=ImageFont.load_default(size=30))
    text_font = ImageFont.load_default(size=20)
    for number, line in enumerate(lines):
        draw.text((32, 110 + 36 * number), line, fill="black", font=text_font)
    draw.text(
        (32, 330),
        f"DOCUMENTO DE DEMOSTRACIÓN · {timezone.localdate():%Y}",
        fill="firebrick",
        font=text_font,
    )
    buffer = io.BytesIO()
    image.save(buffer, image_format)
    return buffer.getvalue()
