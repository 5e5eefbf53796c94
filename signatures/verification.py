"""The public verification of a signed document: what its signatures prove, and whether it is
the very file the institute keeps.

For the page at /verificar/: anyone may upload a PDF, or arrive from the QR code printed on a
contract. The result says only what the document itself shows (its signers, with CURP and RFC
partly masked, its time-stamps, its integrity) plus, by its SHA-256, whether the institute holds
that exact file and under which reference (the folio, printed in the document too). An upload is
read in memory and never written anywhere.
"""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from signatures import validation
from signatures.models import SignedDocument
from signatures.selectors import document_by_token, document_replacement

# Contracts are a few hundred kilobytes; a scanned annex could make one a few megabytes.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# A kept document never changes and its signatures are judged as of their time-stamps, so its
# report may be reused for a while instead of validating it for every visit to its QR link.
REPORT_CACHE_SECONDS = 3600

LEVEL_TEXT = {
    "B-B": gettext_lazy("Firma básica (PAdES B-B)"),
    "B-T": gettext_lazy("Con sello de tiempo (PAdES B-T)"),
    "B-LT": gettext_lazy("Con datos de validación a largo plazo (PAdES B-LT)"),
    "B-LTA": gettext_lazy("Con sello de tiempo de archivo (PAdES B-LTA)"),
}


def mask(identifier: str, *, keep_start: int = 4, keep_end: int = 2) -> str:
    """'GOMA800101HGTRRN01' → 'GOMA************01': enough to recognise, not to copy."""
    if len(identifier) <= keep_start + keep_end:
        return "*" * len(identifier)
    hidden = len(identifier) - keep_start - keep_end
    return identifier[:keep_start] + "*" * hidden + identifier[-keep_end:]


@dataclass(frozen=True)
class SignatureSummary:
    """One signature as the page and its PDF report show it."""

    signer_name: str
    curp: str
    rfc: str
    signed_at: datetime | None
    timestamp: datetime | None
    timestamp_authority: str
    intact: bool
    ok: bool
    status: str
    level: str

    @classmethod
    def of(cls, report: validation.SignatureReport) -> "SignatureSummary":
        return cls(
            signer_name=report.signer_name or _("(sin nombre en el certificado)"),
            curp=mask(report.curp) if report.curp else "—",
            rfc=mask(report.rfc, keep_end=3) if report.rfc else "—",
            signed_at=parse_datetime(report.signing_time) if report.signing_time else None,
            timestamp=parse_datetime(report.timestamp) if report.timestamp else None,
            timestamp_authority=report.timestamp_authority or "—",
            intact=report.intact,
            ok=report.bottom_line,
            status=str(_certificate_status(report)),
            level=str(LEVEL_TEXT.get(report.level or "", _("Sin nivel PAdES reconocido"))),
        )


def _certificate_status(report: validation.SignatureReport) -> str:
    if not report.intact:
        return _("El documento cambió después de esta firma: la firma ya no corresponde.")
    if not report.valid:
        return _("La firma no corresponde al certificado.")
    if report.revoked:
        return _("El certificado estaba revocado.")
    if not report.trusted:
        return _("El certificado no es de una autoridad certificadora que el Instituto acepte.")
    if report.checked_at_signing:
        return _("Certificado vigente y no revocado al momento de firmar (según el propio PDF).")
    return _("Certificado vigente y no revocado (revisado hoy con la autoridad certificadora).")


@dataclass(frozen=True)
class Verification:
    sha256: str
    size: int
    intact: bool
    ok: bool
    signatures: list[SignatureSummary]
    document_timestamps: list[tuple[datetime | None, str, bool]]
    # The institute's record of this exact file, if it keeps one, and whether it is the version
    # that stands: neither a later version of it (the sealed contract) nor a document signed
    # anew in its place (after a devolución) exists.
    held_reference: str = ""
    held_is_current: bool = False
    checked_at: datetime | None = None
    # When a document signed anew replaced this file's, and that document's verification token
    # (its page): see `signatures.selectors.document_replacement`.
    replaced_at: datetime | None = None
    replaced_by_token: str = ""

    def as_session(self) -> dict:
        """What the PDF report needs, in JSON, to be kept in the session (never the file)."""
        return {
            "sha256": self.sha256,
            "size": self.size,
            "intact": self.intact,
            "ok": self.ok,
            "signatures": [
                {
                    **summary.__dict__,
                    "signed_at": _iso(summary.signed_at),
                    "timestamp": _iso(summary.timestamp),
                }
                for summary in self.signatures
            ],
            "document_timestamps": [
                [_iso(moment), authority, good]
                for moment, authority, good in self.document_timestamps
            ],
            "held_reference": self.held_reference,
            "held_is_current": self.held_is_current,
            "checked_at": _iso(self.checked_at),
            "replaced_at": _iso(self.replaced_at),
            "replaced_by_token": self.replaced_by_token,
        }

    @classmethod
    def from_session(cls, data: dict) -> "Verification":
        return cls(
            sha256=data["sha256"],
            size=data["size"],
            intact=data["intact"],
            ok=data["ok"],
            signatures=[
                SignatureSummary(
                    **{
                        **summary,
                        "signed_at": _parsed(summary["signed_at"]),
                        "timestamp": _parsed(summary["timestamp"]),
                    }
                )
                for summary in data["signatures"]
            ],
            document_timestamps=[
                (_parsed(moment), authority, good)
                for moment, authority, good in data["document_timestamps"]
            ],
            held_reference=data["held_reference"],
            held_is_current=data["held_is_current"],
            checked_at=_parsed(data["checked_at"]),
            # Absent from the sessions kept before the replacement was recorded.
            replaced_at=_parsed(data.get("replaced_at")),
            replaced_by_token=data.get("replaced_by_token", ""),
        )


def verification_of(data: bytes, *, checked_at: datetime) -> Verification:
    """Validate `data` (raises validation.PdfUnreadable) and look its SHA-256 up."""
    sha256 = hashlib.sha256(data).hexdigest()
    report = _report(sha256, data)
    held = SignedDocument.objects.filter(sha256=sha256).first()
    replacement = document_replacement(document=held) if held else None
    return Verification(
        sha256=sha256,
        size=len(data),
        intact=bool(report.signatures) and all(s.intact for s in report.signatures),
        ok=report.ok,
        signatures=[SignatureSummary.of(signature) for signature in report.signatures],
        document_timestamps=[
            (
                parse_datetime(stamp.timestamp) if stamp.timestamp else None,
                stamp.authority or "—",
                stamp.bottom_line,
            )
            for stamp in report.document_timestamps
        ],
        held_reference=held.reference if held else "",
        held_is_current=bool(held)
        and replacement is None
        and not SignedDocument.objects.filter(supersedes=held).exists(),
        checked_at=checked_at,
        replaced_at=replacement.created_at if replacement else None,
        replaced_by_token=str(replacement.verification_token) if replacement else "",
    )


def held_document(*, token: uuid.UUID) -> SignedDocument | None:
    """The latest version of the document whose QR code carries `token`."""
    return document_by_token(token=token)


def replacement_of(document: SignedDocument) -> SignedDocument | None:
    """The document signed anew in place of `document`, if any (its `created_at`: when)."""
    return document_replacement(document=document)


def _report(sha256: str, data: bytes) -> validation.PdfReport:
    key = f"signatures.verification:{sha256}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    report = validation.validate_pdf(data)
    cache.set(key, report, REPORT_CACHE_SECONDS)
    return report


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _parsed(text: str | None) -> datetime | None:
    return parse_datetime(text) if text else None
