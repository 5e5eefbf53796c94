"""Signing a loan application's contract, and the institute's seal on it.

`signatures` does the signing and knows nothing of loans; these services decide what is signed
(the final contract, rendered with the verification token the signature will carry), who must
sign it (the affiliate's CURP and RFC), and move the application to `signed`, in the same
transaction that records the signed PDF. A session signs the contract it prepared or nothing:
it keeps the digest of the contract's data (`loans.contract.contract_digest`), which finishing
computes again on the locked application (409 `contract_changed` when they differ), and the
wizard's edits, a return and a new confirmation end the open sessions
(`signatures.services.signing_sessions_invalidate`). They live beside `loans.services`, which
holds the transition itself (`application_sign`).
"""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from django.utils.translation import gettext as _

from loans.contract import contract_digest, contract_pdf
from loans.models import LoanApplication
from loans.services import ApplicationError, application_sign
from signatures.models import SignedDocument
from signatures.pades import SignatureAppearance
from signatures.seal import document_seal
from signatures.services import (
    PreparedSession,
    SigningError,
    latest_signed_document,
    signing_finish,
    signing_prepare,
)

CONTRACT_KIND = "contrato"
SEALED_CONTRACT_KIND = "contrato_sellado"
APPLICANT_FIELD = "FirmaSolicitante"
SEAL_FIELD = "SelloISSEG"


def application_sign_prepare(
    *, application: LoanApplication, user: AbstractBaseUser, certificate_data: bytes
) -> PreparedSession:
    _require_signable(application)
    affiliate = application.affiliate
    signed_on = timezone.localdate()

    def render(verification_token) -> bytes:
        return contract_pdf(
            application, draft=False, signed_on=signed_on, verification_token=verification_token
        )

    return signing_prepare(
        owner=user,
        reference=application.folio,
        kind=CONTRACT_KIND,
        certificate_data=certificate_data,
        curp=affiliate.curp,
        rfc=affiliate.rfc,
        appearance=SignatureAppearance(
            field_name=APPLICANT_FIELD,
            signer_name=affiliate.full_name.upper(),
            reason=_("Contrato de préstamo %(folio)s") % {"folio": application.folio},
            location=settings.INSTITUTE_CITY,
        ),
        render=render,
        # Of the same instance the contract is rendered from: the data it prints.
        content_digest=contract_digest(application),
    )


def application_sign_finish(
    *,
    application: LoanApplication,
    user: AbstractBaseUser,
    token: str,
    signature_b64: str,
    ip_address: str | None,
) -> SignedDocument:
    # Whether the application may still be signed is decided under lock by `application_sign`,
    # after the session was found good: a reused session is told so, not "already signed".

    def on_signed(document: SignedDocument) -> None:
        try:
            application_sign(
                application=application,
                actor=user,
                document_sha256=document.sha256,
                ip_address=ip_address,
            )
        except ApplicationError as error:
            raise SigningError(error.code, error.message) from error

    def current_digest(*, locked: bool) -> str:
        # Locked in the transaction that records the signature: an edit waits for its commit,
        # and one committed before is seen here.
        rows = LoanApplication.objects.select_related("product", "affiliate__employer")
        if locked:
            rows = rows.select_for_update(of=("self",))
        return contract_digest(rows.get(pk=application.pk))

    return signing_finish(
        owner=user,
        reference=application.folio,
        token=token,
        signature_b64=signature_b64,
        on_signed=on_signed,
        # The contract is dated, and its payment calendar computed, on the day it was prepared.
        same_day=True,
        current_digest=current_digest,
    )


def application_signed_contract(application: LoanApplication) -> SignedDocument | None:
    """The contract as it stands: with the institute's seal once approved, else as signed."""
    return latest_signed_document(
        reference=application.folio, kind=SEALED_CONTRACT_KIND
    ) or latest_signed_document(reference=application.folio, kind=CONTRACT_KIND)


def application_seal_contract(application: LoanApplication) -> SignedDocument:
    """The institute's seal on the contract of an approved application; idempotent.

    Raises `signatures.pades.ServiceUnavailable` when the TSA or a revocation service does not
    answer (a later run will seal), `signatures.seal.SealUnavailable` when the seal itself is
    misconfigured.
    """
    signed = latest_signed_document(reference=application.folio, kind=CONTRACT_KIND)
    if signed is None:
        raise SigningError(
            "not_signed",
            _("La solicitud %(folio)s no tiene contrato firmado que sellar.")
            % {"folio": application.folio},
        )
    return document_seal(
        document=signed,
        kind=SEALED_CONTRACT_KIND,
        field_name=SEAL_FIELD,
        reason=_("Aprobación del préstamo %(folio)s por el %(institute)s")
        % {"folio": application.folio, "institute": settings.INSTITUTE_SHORT_NAME},
        location=settings.INSTITUTE_CITY,
    )


def _require_signable(application: LoanApplication) -> None:
    refusal = application.signing_refusal
    if refusal is not None:
        raise SigningError("not_signable", refusal)
