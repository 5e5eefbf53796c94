"""The loan contract: a "contrato de mutuo" with its amortization table and a pagaré, as a PDF.

`contract_pdf` renders `templates/loans/contract/contract.html` with WeasyPrint
(`signatures.rendering`, which reads only the project's static files). The same document serves
two moments: the draft the applicant reviews before signing (`draft=True`: marked "BORRADOR —
sin validez" on every page) and the copy that is signed (`draft=False`: a "Firma electrónica"
section with the signing date; the signature itself is embedded afterwards by the signing
module). Everything in it comes from the terms stored on the application, never from the
product's current ones, and the schedule is the one `loans.amortization` computes for the
application pages.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import segno
from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _

from affiliates.models import AffiliateStatus
from isseg_portal.formatting import percent_text
from loans.amortization import CAT_LEGEND, InterestConvention, Quote, amount_in_words
from loans.models import LoanApplication
from loans.paydays import payment_dates
from loans.selectors import application_quote
from signatures.rendering import html_to_pdf

TEMPLATE = "loans/contract/contract.html"
# The pagaré lists its due dates this many to a line, left to right, so that the list of a long
# term still fits about a page and breaks between lines like any table.
DUE_DATES_PER_LINE = 4
# Pensioners and retirees pay from their pension, everyone else from their salary.
PENSION_STATUSES = {AffiliateStatus.PENSIONER.value, AffiliateStatus.RETIREE.value}


@dataclass(frozen=True, slots=True)
class Installment:
    """One row of the contract's table: an amortization row with its due date."""

    n: int
    due_on: date
    payment: Decimal
    interest: Decimal
    principal: Decimal
    fund: Decimal
    total: Decimal
    balance: Decimal


def verification_url(token: uuid.UUID) -> str:
    """The public page where anyone holding the contract can check its signatures.

    The token is the signed document's (`signatures.SignedDocument.verification_token`), chosen
    when the signature is prepared; a draft gets one that no signed document will ever have.
    """
    return f"{settings.PORTAL_BASE_URL}/verificar/{token}/"


def contract_context(
    application: LoanApplication,
    *,
    draft: bool,
    signed_on: date | None = None,
    verification_token: uuid.UUID | None = None,
) -> dict[str, Any]:
    """What the contract template shows. `signed_on` defaults to today (Mexico City).

    In a draft, `signed_on` is the date the payment calendar is computed from, shown as
    provisional; in the signed copy it is the date of the applicant's signature.
    """
    signed_on = signed_on or timezone.localdate()
    quote = application_quote(application=application)
    installments = _installments(quote, signed_on=signed_on)
    url = verification_url(verification_token or uuid.uuid4())
    net = application.net_to_receive
    return {
        "application": application,
        "folio": application.folio,
        "draft": draft,
        "signed_on": signed_on,
        "institute": {
            "name": settings.INSTITUTE_NAME,
            "short_name": settings.INSTITUTE_SHORT_NAME,
            "address": settings.INSTITUTE_ADDRESS,
            "city": settings.INSTITUTE_CITY,
            "contact_email": settings.INSTITUTE_CONTACT_EMAIL,
            "privacy_email": settings.INSTITUTE_PRIVACY_EMAIL,
        },
        "borrower": _borrower(application),
        "product": application.product,
        "quote": quote,
        "installments": installments,
        "due_date_columns": range(min(DUE_DATES_PER_LINE, len(installments))),
        "due_date_lines": [
            installments[start : start + DUE_DATES_PER_LINE]
            for start in range(0, len(installments), DUE_DATES_PER_LINE)
        ],
        "dates": {
            "signed_on": _long_date(signed_on),
            "first_payment": _long_date(installments[0].due_on),
            "last_payment": _long_date(installments[-1].due_on),
        },
        # What the pagaré covers: the installments (capital and interest), without the fund.
        "payments_total": quote.amount + quote.total_interest,
        "amount_in_words": amount_in_words(application.amount),
        "net_in_words": amount_in_words(net) if net > 0 else "",
        "is_renewal": application.previous_balance > 0,
        "rate_percent": percent_text(application.annual_rate),
        "fund_rate_percent": percent_text(application.fund_rate),
        "effective_convention": (
            application.interest_convention == InterestConvention.EFFECTIVE.value
        ),
        "cat_legend": _(CAT_LEGEND),
        "verification_url": _unbroken(url),
        "qr_data_uri": segno.make(url, error="m").svg_data_uri(scale=4, border=0),
        "privacy_notice_url": _unbroken(
            f"{settings.PORTAL_BASE_URL}{reverse('privacy_notice_full')}"
        ),
    }


def contract_pdf(
    application: LoanApplication,
    *,
    draft: bool,
    signed_on: date | None = None,
    verification_token: uuid.UUID | None = None,
) -> bytes:
    """The contract as a PDF (see `contract_context` for `draft` and `signed_on`)."""
    # Dates and month names in the institute's language, even from a task with no request.
    with translation.override(settings.LANGUAGE_CODE):
        context = contract_context(
            application,
            draft=draft,
            signed_on=signed_on,
            verification_token=verification_token,
        )
        html = render_to_string(TEMPLATE, context)
    return html_to_pdf(html)


def contract_digest(application: LoanApplication) -> str:
    """The SHA-256 of the data the contract prints about this application: its terms, the
    product, the CLABE and bank, and the borrower with their contact data.

    A signing session keeps the digest of the contract it prepared, and the signature is refused
    when the application's digest is another one by the time it is finished
    (`loans.signing.application_sign_finish`). Whatever the template starts printing from the
    application must be added here. The date of signing is not: a session is refused on
    another day anyway.
    """
    product = application.product
    data = {
        "folio": application.folio,
        "product": [product.pk, product.code, product.name],
        "amount": _decimal(application.amount),
        "quincenas": application.quincenas,
        "annual_rate": _decimal(application.annual_rate),
        "interest_convention": application.interest_convention,
        "fund_rate": _decimal(application.fund_rate),
        "payment": _decimal(application.payment),
        "cat": _decimal(application.cat),
        "total_interest": _decimal(application.total_interest),
        "previous_balance": _decimal(application.previous_balance),
        "net_to_receive": _decimal(application.net_to_receive),
        "clabe": application.clabe,
        "bank_name": application.bank_name,
        "account_is_own": application.account_is_own,
        "borrower": {key: str(value) for key, value in _borrower(application).items()},
    }
    encoded = json.dumps(data, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()


def _decimal(value: Decimal | None) -> str:
    """The same text for 60000, 60000.0 and 60000.00 (an instance, the database's value)."""
    return "" if value is None else format(Decimal(value).normalize(), "f")


def _installments(quote: Quote, *, signed_on: date) -> list[Installment]:
    due_dates = payment_dates(signed_on=signed_on, count=quote.quincenas)
    return [
        Installment(
            n=row.n,
            due_on=due_on,
            payment=row.payment,
            interest=row.interest,
            principal=row.principal,
            fund=row.fund,
            total=row.total,
            balance=row.balance,
        )
        for row, due_on in zip(quote.schedule, due_dates, strict=True)
    ]


def _borrower(application: LoanApplication) -> dict[str, Any]:
    """The applicant as the institute knew them when the application started.

    From the snapshot eligibility used (the read model may have been refreshed since), falling
    back to the affiliate for applications that have none.
    """
    snapshot = application.affiliate_snapshot or {}
    affiliate = application.affiliate
    status = snapshot.get("status") or affiliate.status
    employer = snapshot.get("employer") or {}
    return {
        "full_name": snapshot.get("full_name") or affiliate.full_name,
        "curp": snapshot.get("curp") or affiliate.curp,
        "rfc": snapshot.get("rfc") or affiliate.rfc,
        "number": snapshot.get("number") or affiliate.number,
        "employer": employer.get("name") or affiliate.employer.name,
        "status": AffiliateStatus(status).label,
        "is_pensioner": status in PENSION_STATUSES,
        "email": application.email,
        "phone": application.phone,
    }


def _unbroken(url: str) -> str:
    """The URL kept on one line: split after a slash, it could not be typed from paper."""
    return format_html('<span class="url">{}</span>', url)


def _long_date(day: date) -> str:
    """The locale's long date with the month in lower case, as Spanish writes it: "21 de
    noviembre de 2026" (Django's Spanish catalog capitalizes month names)."""
    return date_format(day, "DATE_FORMAT").lower()
