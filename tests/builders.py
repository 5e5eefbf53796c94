"""Loan applications in each state, built through the portal's own services.

A test whose subject is the wizard's HTTP steps or the signing API posts to them; every other
test that only needs an application in some state takes it from here, which is what the views
would have done for it, without the requests. Two kinds of function:

- `draft_for`, `draft_with_account_for`, `filled_draft_for`, `complete_draft_for`, `signed_for`:
  a new application of `client`'s applicant (a persona of tests/conftest.py: a test client with
  `.user` and `.affiliate`), in that state;
- `sign`, `sign_with_efirma`, `take_for_review`, `approve`, `pay`, `seal`: the next steps of an
  application that exists, each by the person who takes it (staff personas, with `.user`).

A draft holds the same data every time (AMOUNT over QUINCENAS, PHONE, EMAIL, VALID_CLABE and the
three DOCUMENTS), so a test can look for them on a page; only a second affiliate's draft gets a
CLABE of its own (`clabe_of`). Its documents land in MEDIA_ROOT, which the `media_root` fixture
points at the test's tmp_path.

Every step from the signature on stands for a request that committed: what follows the commit
(the survey's invitation, the tasks queued) has happened when the function returns (see
`committed`). Making the draft sets off nothing after its commit.
"""

import base64
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal

from clabe import compute_control_digit
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.utils import timezone

from loans.models import DocumentKind, LoanApplication, LoanProduct
from loans.services import (
    TransferData,
    application_add_document,
    application_approve,
    application_complete,
    application_register_payment,
    application_save_bank_account,
    application_save_contact,
    application_sign,
    application_start,
    application_take_for_review,
)
from loans.signing import (
    application_seal_contract,
    application_sign_finish,
    application_sign_prepare,
)
from signatures.models import SignedDocument
from tests.files import image_bytes, pdf_bytes
from tests.loans.factories import LoanProductFactory
from tests.signatures.credentials import Credentials


def with_check_digit(first_17: str) -> str:
    return first_17 + compute_control_digit(first_17)


AMOUNT = Decimal("60000.00")
QUINCENAS = 48
PHONE = "4731234567"
EMAIL = "ana@example.org"
# Banamex (002), with its right check digit.
VALID_CLABE = with_check_digit("00218070123456789")
# (kind, the name the applicant's file had, its content): one of each kind the wizard asks for.
DOCUMENTS: tuple[tuple[str, str, Callable[[], bytes]], ...] = (
    (DocumentKind.IDENTIFICATION, "ine.pdf", pdf_bytes),
    (DocumentKind.PROOF_OF_ADDRESS, "recibo luz.png", lambda: image_bytes("PNG")),
    (DocumentKind.BANK_STATEMENT, "estado.jpg", lambda: image_bytes("JPEG")),
)
# The SPEI reference of each application's transfer: one transfer pays one loan, so each has
# its own ("ISSEG" and the folio's digits).
SPEI_REFERENCE_PREFIX = "ISSEG"


@contextmanager
def committed(using: str = "default") -> Iterator[None]:
    """Run what the commit of the block's writes sets off (the survey invitation, the tasks
    queued), as a real request's commit would; the tests' own transaction never commits.

    The callbacks run are taken off the connection's list, so a test that captures the
    callbacks around a builder does not run them a second time. In a transactional test the
    writes commit for real and the list stays empty: nothing is left to run here."""
    connection = connections[using]
    start = len(connection.run_on_commit)
    yield
    while len(connection.run_on_commit) > start:
        _savepoints, callback, _robust = connection.run_on_commit.pop(start)
        callback()


# --- The applicant's drafts -------------------------------------------------------------------


def draft_for(
    client,
    product: LoanProduct | None = None,
    *,
    amount: Decimal = AMOUNT,
    quincenas: int = QUINCENAS,
) -> LoanApplication:
    """Step 1: a draft for the quote, as the simulator's "Solicitar" makes it (with the
    affiliate's data as they are: nothing is asked of the institute). A new product of the
    factory's when none is given."""
    return application_start(
        applicant=client.user,
        affiliate=client.affiliate,
        product=product or LoanProductFactory(),
        amount=amount,
        quincenas=quincenas,
        affiliate_refreshed=True,
        ip_address=None,
    ).application


def clabe_of(affiliate) -> str:
    """VALID_CLABE, unless another affiliate's application already has it: then one of this
    affiliate's own (a CLABE in two people's applications asks the second to confirm it)."""
    if LoanApplication.objects.filter(clabe=VALID_CLABE).exclude(affiliate=affiliate).exists():
        return with_check_digit(f"00218071{affiliate.pk:09d}")
    return VALID_CLABE


def draft_with_account_for(client, product: LoanProduct | None = None, **terms) -> LoanApplication:
    """A draft with steps 2 and 3 saved (contact, CLABE): the documents' step is open. The
    CLABE is VALID_CLABE, or the affiliate's own when another affiliate has that one
    (`clabe_of`)."""
    application = draft_for(client, product, **terms)
    application_save_contact(application=application, phone=PHONE, email=EMAIL)
    return application_save_bank_account(
        application=application, clabe=clabe_of(client.affiliate), account_is_own=True
    )


def filled_draft_for(client, product: LoanProduct | None = None, **terms) -> LoanApplication:
    """A draft with steps 2 to 4 saved (contact, CLABE, the three documents), not yet
    confirmed in step 5."""
    application = draft_with_account_for(client, product, **terms)
    for kind, name, content in DOCUMENTS:
        application_add_document(
            application=application, kind=kind, file=SimpleUploadedFile(name, content())
        )
    application.refresh_from_db()
    return application


def complete_draft_for(client, product: LoanProduct | None = None, **terms) -> LoanApplication:
    """A draft with every step saved and confirmed: ready to sign."""
    return application_complete(
        application=filled_draft_for(client, product, **terms),
        privacy_accepted=True,
        terms_accepted=True,
    )


def signed_for(client, product: LoanProduct | None = None, **terms) -> LoanApplication:
    """A complete draft of `client`'s applicant, signed by them (see `sign`)."""
    return sign(complete_draft_for(client, product, **terms))


# --- Signing ----------------------------------------------------------------------------------


def sign(application: LoanApplication) -> LoanApplication:
    """The applicant signs a complete draft: the transition only, with a made-up SHA-256 for a
    PDF that is not made (for the tests of what comes after the signature)."""
    with committed():
        return application_sign(
            application=application,
            actor=application.applicant,
            document_sha256="0" * 64,
            ip_address=None,
        )


def sign_with_efirma(
    application: LoanApplication, credentials: Credentials, *, ip_address: str | None = None
) -> SignedDocument:
    """The applicant signs a complete draft with their e.firma, as the signing page does without
    its two requests: the contract prepared, its signed attributes signed with the .key, and the
    PAdES B-LT PDF finished against the demo PKI (time-stamp, revocation data) and recorded."""
    user = application.applicant
    prepared = application_sign_prepare(
        application=application, user=user, certificate_data=credentials.certificate
    )
    signature = credentials.sign(prepared.signed_attributes)
    with committed():
        return application_sign_finish(
            application=application,
            user=user,
            token=prepared.token,
            signature_b64=base64.b64encode(signature).decode(),
            ip_address=ip_address,
        )


# --- Staff ------------------------------------------------------------------------------------


def take_for_review(application: LoanApplication, analyst) -> LoanApplication:
    """An analyst takes a signed application for review."""
    with committed():
        return application_take_for_review(
            application=application, actor=analyst.user, ip_address=None
        )


def approve(application: LoanApplication, *, analyst, authorizer) -> LoanApplication:
    """A signed application reviewed by `analyst`, then approved by `authorizer` (another
    person: the separation of duties). The seal's task is queued, not run: see `seal`."""
    take_for_review(application, analyst)
    with committed():
        return application_approve(application=application, actor=authorizer.user, ip_address=None)


def transfer_for(application: LoanApplication, **changes) -> TransferData:
    """The SPEI transfer Tesorería registers for `application`, exactly its own (`changes`
    replace any field); its reference is the application's (`spei_reference_of`)."""
    data = {
        "spei_reference": spei_reference_of(application),
        "paid_on": timezone.localdate(),
        "amount": application.net_to_receive,
        "clabe": application.clabe,
    }
    data.update(changes)
    return TransferData(**data)


def spei_reference_of(application: LoanApplication) -> str:
    """The reference of the transfer that pays `application`: ISSEG and its folio's digits."""
    return SPEI_REFERENCE_PREFIX + "".join(c for c in application.folio if c.isdigit())


def pay(application: LoanApplication, *, analyst, authorizer, treasurer) -> LoanApplication:
    """A signed application reviewed, approved and paid by three different staff members."""
    approve(application, analyst=analyst, authorizer=authorizer)
    with committed():
        return application_register_payment(
            application=application,
            actor=treasurer.user,
            transfer=transfer_for(application),
            ip_address=None,
        )


def seal(application: LoanApplication) -> SignedDocument:
    """The institute's seal on the contract of an approved application, as the seal task puts
    it: needs the contract signed with an e.firma (`sign_with_efirma`) and the `seal` fixture."""
    return application_seal_contract(application)
