"""The files Tesorería takes out of the portal (README, «Archivos de Tesorería»).

- The payment batch: approved loans still waiting for their SPEI transfer, with the account to
  pay and whether the contract already carries the institute's seal.
- The payroll-deduction file: for one employer (dependencia) and one quincena, what its
  payroll must deduct from each affiliate with a paid loan whose schedule includes that
  quincena.

Querysets choose the applications; the row functions turn them into lists of strings, one per
column, in the formats the README documents (amounts "1234.50", dates "2026-11-30");
`write_csv` makes the file. Nothing here writes to the database.
"""

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from affiliates.models import Employer
from isseg_portal.formatting import CENT, spreadsheet_safe
from loans.models import ApplicationStatus, LoanApplication
from loans.paydays import payment_dates
from loans.selectors import application_quote, clabe_shared_annotation
from loans.signing import SEALED_CONTRACT_KIND
from signatures.models import SignedDocument

S = ApplicationStatus

PAYMENT_BATCH_HEADER = (
    "folio",
    "curp",
    "numero_afiliado",
    "nombre",
    "banco",
    "clabe",
    "monto",
    "referencia_sugerida",
    "sello",
    "clabe_compartida",
)
DEDUCTIONS_HEADER = (
    "curp",
    "numero_afiliado",
    "folio",
    "descuento_quincenal",
    "quincena_inicial",
    "quincena_final",
    "numero_de_pago",
    "total_de_pagos",
)
# SPEI's "concepto de pago" holds 40 characters.
REFERENCE_MAX_LENGTH = 40
SEALED = "si"
SEAL_PENDING = "pendiente"
CLABE_SHARED = "si"
CLABE_NOT_SHARED = "no"


def awaiting_payment() -> QuerySet[LoanApplication]:
    """Approved applications with no transfer registered yet, by folio.

    Each carries `sealed`: whether the institute's seal is already on its contract (the seal
    task runs after approval and may be pending while a TSA or OCSP service is down); and
    `clabe_shared`: whether its CLABE is in another affiliate's application
    (`selectors.clabe_shared_with`), for Tesorería to look at before paying.
    """
    sealed = SignedDocument.objects.filter(kind=SEALED_CONTRACT_KIND, reference=OuterRef("folio"))
    return (
        LoanApplication.objects.filter(status=S.APPROVED, transfer__isnull=True)
        .annotate(sealed=Exists(sealed), clabe_shared=clabe_shared_annotation())
        .select_related("affiliate")
        .order_by("folio")
    )


def payment_batch_rows(applications: Iterable[LoanApplication]) -> list[list[str]]:
    """One row per application of `awaiting_payment()`, in PAYMENT_BATCH_HEADER's order."""
    return [
        [
            application.folio,
            application.affiliate.curp,
            application.affiliate.number,
            application.affiliate.full_name,
            application.bank_name,
            application.clabe,
            _amount(application.net_to_receive),
            suggested_reference(application.folio),
            SEALED if application.sealed else SEAL_PENDING,
            CLABE_SHARED if application.clabe_shared else CLABE_NOT_SHARED,
        ]
        for application in applications
    ]


def suggested_reference(folio: str) -> str:
    """The folio without dashes ("PL-2026-000123" → "PL2026000123"), as the transfer's
    concept: the applicant's bank statement then names the loan it paid."""
    return folio.replace("-", "")[:REFERENCE_MAX_LENGTH]


def deducted_by(*, employer: Employer, quincena: date) -> QuerySet[LoanApplication]:
    """Paid loans of `employer`'s affiliates that may be deducted in `quincena`, by folio.

    The employer is the affiliate's current one (the read model is refreshed from the
    institute's database): whoever pays the salary or pension now makes the deduction. Each
    has `signed_at`, the moment of its latest signature, which fixes its schedule. Loans
    signed on or after the payday cannot have an installment due on it (the first falls two
    quincenas after the signature's); the rest are checked against their schedule by
    `deduction_rows`.
    """
    # Days are the institute's (TIME_ZONE, Mexico City), as the contract counts them.
    payday_starts = timezone.make_aware(
        datetime.combine(quincena, time.min), timezone.get_default_timezone()
    )
    return (
        LoanApplication.objects.filter(status=S.DISBURSED, affiliate__employer=employer)
        .filter(signed_at__lt=payday_starts)
        .select_related("affiliate")
        .order_by("folio")
    )


def deduction_rows(applications: Iterable[LoanApplication], *, quincena: date) -> list[list[str]]:
    """One row per application of `deducted_by()` with an installment due on `quincena`, in
    DEDUCTIONS_HEADER's order.

    The amount is the row of the application's amortization quote for that installment, the
    same row the signed contract prints: the installment plus the Fondo contribution charged
    with it (installments 1, 25, 49, …), the last one with its rounding residue. Over the whole
    term these amounts add up to the quote's `total_paid`.
    """
    rows = []
    for application in applications:
        due_dates = payment_dates(signed_on=signed_on(application), count=application.quincenas)
        if not due_dates[0] <= quincena <= due_dates[-1]:
            continue
        number = due_dates.index(quincena) + 1
        installment = application_quote(application=application).schedule[number - 1]
        rows.append(
            [
                application.affiliate.curp,
                application.affiliate.number,
                application.folio,
                _amount(installment.total),
                due_dates[0].isoformat(),
                due_dates[-1].isoformat(),
                str(number),
                str(application.quincenas),
            ]
        )
    return rows


def signed_on(application: LoanApplication) -> date:
    """The day, in Mexico City, of the application's latest signature (`deducted_by`'s
    `signed_at`), from which its payment calendar runs.

    An application returned for correction is signed again, on a contract rendered that day:
    the latest signature is the one that holds.
    """
    return timezone.localtime(application.signed_at, timezone.get_default_timezone()).date()


def write_csv(rows: Iterable[Sequence[str]], header: Sequence[str]) -> bytes:
    """The rows as a CSV file: UTF-8 with a byte-order mark (so Excel reads the accents),
    comma-separated, CRLF line ends, quoting only where a cell needs it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def _amount(value: Decimal) -> str:
    """Pesos as a plain decimal with two places and a point: 1234.5 → "1234.50"."""
    return format(value.quantize(CENT, rounding=ROUND_HALF_UP), "f")
