"""The applicant's wizard: starting an application and saving each step until it is complete.

A draft stays a draft while it is filled in (no transition); `loans.services.transitions`
changes its state.
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from clabe import get_bank_name, validate_clabe
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from affiliates.models import Affiliate
from loans.documents import DocumentsTooLarge, document_check
from loans.eligibility import Eligibility, RuleFailure, evaluate
from loans.models import (
    WIZARD_STEPS,
    DocumentKind,
    LoanApplication,
    LoanProduct,
    SupportingDocument,
)
from loans.selectors import affiliate_facts, clabe_shared_with, product_terms
from loans.services.transitions import (
    ApplicationError,
    QuoteTerms,
    application_create,
    draft_locked,
)
from loans.workflow import ApplicationStatus
from signatures.services import signing_sessions_invalidate


class ApplicationNotEligible(ApplicationError):
    """The rules refuse the loan; `message` sums it up and `failures` say every reason."""

    def __init__(self, eligibility: Eligibility):
        super().__init__(eligibility.summary())
        self.failures: tuple[RuleFailure, ...] = eligibility.failures


@dataclass(frozen=True)
class StartOutcome:
    application: LoanApplication
    # False: the applicant already had an open draft, returned instead of a new one.
    created: bool
    # For an existing draft: whether it has the product, amount and term asked for now
    # (a double click or a retry) or other ones.
    same_terms: bool = True


# Mexican numbers have ten digits since 2019, and no area code starts with 0 or 1.
PHONE_RE = re.compile(r"[2-9]\d{9}")


def application_start(
    *,
    applicant: AbstractBaseUser,
    affiliate: Affiliate,
    product: LoanProduct,
    amount: Decimal,
    quincenas: int,
    affiliate_refreshed: bool,
    ip_address: str | None,
) -> StartOutcome:
    """A draft for the quote the applicant chose, if the rules allow it; one open draft each.

    The caller refreshes the affiliate from the institute first (a network call that must not
    run while a row is locked); `affiliate_refreshed` says whether that worked, and is kept in
    the snapshot. Raises ApplicationNotEligible, or ApplicationError when the product is not
    offered today.
    """
    with transaction.atomic():
        # Two requests of the same person (a double click, two tabs) queue here, so the second
        # one sees the draft the first one created. of=("self",): PostgreSQL would otherwise
        # lock the joined employer row too, and queue everyone of the same dependencia.
        locked = (
            Affiliate.objects.select_for_update(of=("self",))
            .select_related("employer")
            .get(pk=affiliate.pk)
        )
        draft = (
            LoanApplication.objects.filter(applicant=applicant, status=ApplicationStatus.DRAFT)
            .order_by("-created_at")
            .first()
        )
        if draft is not None:
            same = (draft.product_id, draft.amount, draft.quincenas) == (
                product.pk,
                amount,
                quincenas,
            )
            return StartOutcome(application=draft, created=False, same_terms=same)

        today = timezone.localdate()
        if not product.is_available_on(today):
            raise ApplicationError(
                _("El préstamo «%(product)s» no se ofrece en este momento.")
                % {"product": product.name}
            )
        eligibility = evaluate(
            affiliate=affiliate_facts(affiliate=locked, on=today),
            product=product_terms(product=product),
            amount=amount,
            quincenas=quincenas,
        )
        if not eligibility.eligible or eligibility.quote is None:
            raise ApplicationNotEligible(eligibility)
        quote = eligibility.quote
        application = application_create(
            applicant=applicant,
            affiliate=locked,
            product=product,
            terms=QuoteTerms(
                amount=quote.amount,
                quincenas=quote.quincenas,
                annual_rate=quote.annual_rate,
                interest_convention=quote.convention.value,
                fund_rate=quote.fund_rate,
                payment=quote.payment,
                cat=quote.cat,
                previous_balance=eligibility.previous_balance_netted,
                net_to_receive=eligibility.net_to_receive,
            ),
            ip_address=ip_address,
        )
        application.affiliate_snapshot = _affiliate_snapshot(
            affiliate=locked, on=today, refreshed=affiliate_refreshed
        )
        # Step 1, the quote, is saved with the application itself.
        application.completed_step = 1
        application.save(update_fields=["affiliate_snapshot", "completed_step"])
    return StartOutcome(application=application, created=True)


def application_save_contact(
    *, application: LoanApplication, phone: str, email: str
) -> LoanApplication:
    """Step 2: the phone (ten digits) and email where the institute reaches the applicant."""
    if not PHONE_RE.fullmatch(phone):
        raise ApplicationError(_("El teléfono debe tener 10 dígitos."))
    try:
        validate_email(email)
    except ValidationError:
        raise ApplicationError(_("El correo electrónico no es válido.")) from None
    with transaction.atomic():
        locked = draft_locked(application)
        changed = (locked.phone, locked.email) != (phone, email)
        locked.phone, locked.email = phone, email
        fields = ["phone", "email"] if changed else []
        _wizard_progress(locked, step=2, changed=changed, fields=fields)
    return _copied(locked, onto=application)


CLABE_SHARED_MESSAGE = gettext_lazy(
    "Esta CLABE ya aparece en la solicitud de otra persona. Si la cuenta es tuya, marca "
    "«Confirmo que esta CLABE es mía» para continuar; si no, revisa los dígitos."
)


def application_save_bank_account(
    *,
    application: LoanApplication,
    clabe: str,
    account_is_own: bool,
    clabe_shared_confirmed: bool = False,
) -> LoanApplication:
    """Step 3: the CLABE where the loan is paid by SPEI, in the applicant's own name.

    A CLABE already in another affiliate's application (`selectors.clabe_shared_with`) is
    saved only once the applicant confirms it is theirs (refused with code "clabe_shared"
    otherwise); the moment of the confirmation is kept. Nothing about the other person is
    said to the applicant."""
    if not validate_clabe(clabe):
        raise ApplicationError(_("La CLABE no es válida: revisa sus 18 dígitos."))
    if not account_is_own:
        raise ApplicationError(_("Debes declarar que la cuenta está a tu nombre."))
    bank_name = get_bank_name(clabe)
    with transaction.atomic():
        locked = draft_locked(application)
        shared = clabe_shared_with(clabe=clabe, affiliate_id=locked.affiliate_id).exists()
        if shared and not clabe_shared_confirmed:
            raise ApplicationError(str(CLABE_SHARED_MESSAGE), code="clabe_shared")
        changed = (locked.clabe, locked.bank_name, locked.account_is_own) != (
            clabe,
            bank_name,
            True,
        )
        if not shared:
            confirmed_at = None
        elif changed or locked.clabe_shared_confirmed_at is None:
            confirmed_at = timezone.now()
        else:
            confirmed_at = locked.clabe_shared_confirmed_at
        fields = ["clabe", "bank_name", "account_is_own"] if changed else []
        if confirmed_at != locked.clabe_shared_confirmed_at:
            fields.append("clabe_shared_confirmed_at")
        locked.clabe, locked.bank_name, locked.account_is_own = clabe, bank_name, True
        locked.clabe_shared_confirmed_at = confirmed_at
        _wizard_progress(locked, step=3, changed=changed, fields=fields)
    return _copied(locked, onto=application)


@dataclass(frozen=True)
class DocumentOutcome:
    document: SupportingDocument
    # False: the same file was already the current one of its kind (a repeated upload).
    created: bool


def application_add_document(
    *, application: LoanApplication, kind: str, file: UploadedFile
) -> DocumentOutcome:
    """Step 4: store a supporting document, replacing the current one of its kind.

    Raises loans.documents.DocumentRejected when the content is not an acceptable PDF, JPEG or
    PNG, and DocumentsTooLarge when the application's stored documents with this one would
    pass DOCUMENTS_MAX_BYTES_PER_APPLICATION. The same content uploaded again is not stored
    twice. The previous document of the kind: in a draft never signed, nobody but the applicant
    saw it, so it is deleted, row and file (the file once the transaction commits); after a
    signature (an application returned for correction) it stays, marked as superseded: it is
    part of what was signed and reviewed.
    """
    if kind not in DocumentKind.values:
        raise ApplicationError(_("Elige qué documento estás subiendo."))
    # Parsing the file takes a moment: before taking any lock.
    checked = document_check(file=file, name=file.name or "", size=file.size or 0)
    with transaction.atomic():
        locked = draft_locked(application)
        current = locked.documents.filter(kind=kind, superseded_at__isnull=True).first()
        if current is not None and current.sha256 == checked.sha256:
            return DocumentOutcome(document=current, created=False)
        replaceable = current is not None and locked.signed_at is None
        _documents_bytes_check(
            locked, adding=checked.size, freeing=current.size if replaceable else 0
        )
        now = timezone.now()
        if replaceable:
            _document_delete(current)
        elif current is not None:
            current.superseded_at = now
            current.save(update_fields=["superseded_at"])
        document = SupportingDocument(
            application=locked,
            kind=kind,
            original_name=checked.display_name,
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
            uploaded_at=now,
        )
        # The name passed here is ignored: supporting_document_path makes one up.
        document.file.save("documento", file, save=False)
        try:
            document.save()
            # Step 4 is saved once every kind is there (step=0: nothing to record yet).
            step = 0 if _documents_missing(locked) else 4
            _wizard_progress(locked, step=step, changed=True, fields=[])
        except BaseException:
            # The row is not written: do not leave its file behind.
            document.file.delete(save=False)
            raise
    return DocumentOutcome(document=document, created=True)


def _documents_bytes_check(application: LoanApplication, *, adding: int, freeing: int) -> None:
    """Refuse a file that would take the application's stored documents (superseded ones
    included) past DOCUMENTS_MAX_BYTES_PER_APPLICATION."""
    limit = settings.DOCUMENTS_MAX_BYTES_PER_APPLICATION
    stored = application.documents.aggregate(total=Sum("size"))["total"] or 0
    if stored - freeing + adding <= limit:
        return
    raise DocumentsTooLarge(
        _(
            "Los documentos de esta solicitud ya ocupan %(stored)s MB y este archivo pesa "
            "%(size)s MB: juntos pasarían de %(limit)s MB, el máximo. Sube un archivo más "
            "ligero (una foto con menor resolución o un PDF escaneado con menor calidad)."
        )
        % {
            "stored": f"{stored / 1024 / 1024:.1f}",
            "size": f"{adding / 1024 / 1024:.1f}",
            "limit": f"{limit / 1024 / 1024:.0f}",
        }
    )


def _document_delete(document: SupportingDocument) -> None:
    """Delete a replaced document of a draft never signed: the row now, the file once the
    transaction commits (a rollback keeps both)."""
    storage, name = document.file.storage, document.file.name
    document.delete()
    transaction.on_commit(lambda: storage.delete(name))


def application_complete(
    *,
    application: LoanApplication,
    privacy_accepted: bool,
    terms_accepted: bool,
) -> LoanApplication:
    """Step 5: the applicant reviewed everything and accepted; the draft waits for signing.

    Not a transition: the status stays draft until the contract is signed. Eligibility is
    checked again on the affiliate's current data (the caller refreshes them first).
    Completing an already complete draft changes nothing.
    """
    with transaction.atomic():
        locked = draft_locked(application)
        if locked.completed_at is not None:
            return _copied(locked, onto=application)
        missing = _steps_missing(locked)
        if missing:
            raise ApplicationError(
                _("Antes de confirmar tu solicitud completa: %(missing)s.")
                % {"missing": ", ".join(missing)}
            )
        if not privacy_accepted:
            raise ApplicationError(_("Debes aceptar el aviso de privacidad."))
        if not terms_accepted:
            raise ApplicationError(_("Debes aceptar las condiciones del préstamo."))
        today = timezone.localdate()
        product = locked.product
        if not product.is_available_on(today):
            raise ApplicationError(
                _(
                    "El préstamo «%(product)s» ya no se ofrece. Cancela esta solicitud y revisa "
                    "en el simulador los préstamos disponibles."
                )
                % {"product": product.name}
            )
        affiliate = Affiliate.objects.get(pk=locked.affiliate_id)
        eligibility = evaluate(
            affiliate=affiliate_facts(affiliate=affiliate, on=today),
            product=product_terms(product=product),
            amount=locked.amount,
            quincenas=locked.quincenas,
        )
        if not eligibility.eligible:
            raise ApplicationNotEligible(eligibility)
        now = timezone.now()
        locked.privacy_accepted_at = now
        locked.terms_accepted_at = now
        locked.completed_at = now
        locked.completed_step = WIZARD_STEPS
        # The applicant signs what they confirm now: a contract prepared before is not it.
        signing_sessions_invalidate(reference=locked.folio)
        locked.save(
            update_fields=[
                "privacy_accepted_at",
                "terms_accepted_at",
                "completed_at",
                "completed_step",
            ]
        )
    return _copied(locked, onto=application)


def application_steps_missing(*, application: LoanApplication) -> list[str]:
    """Names of the steps 2–4 whose data are not there yet, for the review page."""
    return _steps_missing(application)


_WIZARD_FIELDS = (
    "phone",
    "email",
    "clabe",
    "bank_name",
    "account_is_own",
    "clabe_shared_confirmed_at",
    "completed_step",
    "completed_at",
    "privacy_accepted_at",
    "terms_accepted_at",
)


def _wizard_progress(
    locked: LoanApplication, *, step: int, changed: bool, fields: list[str]
) -> None:
    """Record that `step` is saved, and save `fields` plus whatever that changes.

    Steps count in order: step n is complete only once n − 1 is (step 1, the quote, always is).
    A change to a complete draft makes it incomplete again: the applicant confirms the data
    they will sign, so they must review and accept them once more. Any change ends the draft's
    open signing sessions: what they prepared is not what would be signed now.
    """
    if changed:
        signing_sessions_invalidate(reference=locked.folio)
    if step and max(locked.completed_step, 1) >= step - 1 and locked.completed_step < step:
        locked.completed_step = step
        fields.append("completed_step")
    if changed and locked.completed_at is not None:
        locked.completed_at = None
        fields.append("completed_at")
        if locked.completed_step == WIZARD_STEPS:
            locked.completed_step = WIZARD_STEPS - 1
            fields.append("completed_step")
    if fields:
        locked.save(update_fields=list(dict.fromkeys(fields)))


def _documents_missing(application: LoanApplication) -> list[str]:
    present = set(
        application.documents.filter(superseded_at__isnull=True).values_list("kind", flat=True)
    )
    return [str(kind.label) for kind in DocumentKind if kind.value not in present]


def _steps_missing(application: LoanApplication) -> list[str]:
    missing = []
    if not (application.phone and application.email):
        missing.append(_("tus datos de contacto (paso 2)"))
    if not (application.clabe and application.account_is_own):
        missing.append(_("tu cuenta bancaria (paso 3)"))
    documents = _documents_missing(application)
    if documents:
        missing.append(
            _("tus documentos (paso 4: %(documents)s)")
            % {"documents": ", ".join(document.lower() for document in documents)}
        )
    return missing


def _copied(locked: LoanApplication, *, onto: LoanApplication) -> LoanApplication:
    """Bring the caller's instance up to date with what was saved under the lock."""
    for name in _WIZARD_FIELDS:
        setattr(onto, name, getattr(locked, name))
    return onto


def _affiliate_snapshot(*, affiliate: Affiliate, on: date, refreshed: bool) -> dict[str, Any]:
    """The affiliate's data as eligibility used them, in JSON (amounts as strings)."""
    years, months = affiliate.seniority(on)
    return {
        "number": affiliate.number,
        "full_name": affiliate.full_name,
        "curp": affiliate.curp,
        "rfc": affiliate.rfc,
        "status": affiliate.status,
        "employer": {"code": affiliate.employer.code, "name": affiliate.employer.name},
        "municipality": affiliate.municipality,
        "contribution_start": affiliate.contribution_start.isoformat(),
        "seniority_months": years * 12 + months,
        "base_salary": str(affiliate.base_salary),
        "net_pay": str(affiliate.net_pay),
        "current_deductions": str(affiliate.current_deductions),
        "is_blocked": affiliate.is_blocked,
        "loans": [
            {
                "product_code": loan.product_code,
                "original_amount": str(loan.original_amount),
                "balance": str(loan.balance),
                "installments_paid": loan.installments_paid,
                "installments_total": loan.installments_total,
                "quincenal_payment": str(loan.quincenal_payment),
            }
            for loan in affiliate.loans.order_by("product_code", "pk")
        ],
        "source": affiliate.source,
        "synced_at": affiliate.synced_at.isoformat(),
        # False: the institute's database did not answer at start; these are the last known.
        "refreshed_at_start": refreshed,
        "evaluated_on": on.isoformat(),
    }
