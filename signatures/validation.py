"""What a signed PDF proves: one report per signature, for the admin, the public page and
`verify_pdf`.

Per signature: who signed (name, CURP, RFC), whether the signed bytes are intact, the
cryptography valid, the signer trusted and not revoked, when it says it was signed and when
the TSA says so, how much of the file it covers, what changed afterwards, and the PAdES level
the file reaches:

- ``B-B``: a valid signature; ``B-T``: plus a valid signature time-stamp;
- ``B-LT``: plus the validation data in the file itself (the DSS) proves the signer's and the
  TSA's chains were good at the time-stamp, with no network;
- ``B-LTA``: plus a document time-stamp over all that.

The bottom line is good only when the signature is intact, valid, trusted, not revoked, its
time-stamp (if any) good, and nothing changed after it but signatures, time-stamps and
validation data. Revocation data the file does not carry is fetched (hard-fail).
"""

import asyncio
import datetime
import logging
import struct
import zlib
from dataclasses import asdict, dataclass
from io import BytesIO

from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    SignatureCoverageLevel,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.errors import NoDSSFoundError, SignatureValidationError

from signatures.certificates import subject_identity
from signatures.trust import validation_context

logger = logging.getLogger(__name__)

# What may change after a signature without making it worth less: other signatures (form
# filling of their own fields), document time-stamps and validation data.
ACCEPTED_MODIFICATIONS = {
    ModificationLevel.NONE,
    ModificationLevel.LTA_UPDATES,
    ModificationLevel.FORM_FILLING,
}
ACCEPTED_COVERAGE = {SignatureCoverageLevel.ENTIRE_FILE, SignatureCoverageLevel.ENTIRE_REVISION}


class PdfUnreadable(ValueError):
    """Not a PDF pyHanko can read."""


@dataclass(frozen=True)
class SignatureReport:
    field: str
    signer_name: str
    curp: str
    rfc: str
    intact: bool
    valid: bool
    trusted: bool
    revoked: bool
    bottom_line: bool
    signing_time: str | None
    timestamp: str | None
    level: str | None
    modification_level: str | None
    coverage: str | None
    # Who issued the signature's time-stamp (the TSA certificate's name).
    timestamp_authority: str | None = None
    # The signer's certificate was checked as of the time-stamp with the revocation data the
    # file carries (B-LT and above), rather than as of today over the network.
    checked_at_signing: bool = False


@dataclass(frozen=True)
class TimestampReport:
    field: str
    timestamp: str | None
    intact: bool
    valid: bool
    trusted: bool
    bottom_line: bool
    authority: str | None = None


@dataclass(frozen=True)
class PdfReport:
    ok: bool
    signatures: list[SignatureReport]
    document_timestamps: list[TimestampReport]

    def as_dict(self) -> dict:
        return asdict(self)


# What pyHanko (and asn1crypto under it) raise on a file that is not the PDF it expects. It reads
# objects lazily, so a file broken past its trailer fails while validating, not while opening:
# a signature field whose /V is a number (AttributeError), a Flate stream that does not inflate
# (zlib.error), objects nested thousands deep (RecursionError)... Network trouble with the TSA or
# OCSP is none of these: pyHanko reports it in the signature's status, it does not raise.
PARSER_ERRORS = (
    PdfReadError,
    zlib.error,
    struct.error,
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    AttributeError,
    NotImplementedError,
    RecursionError,
    EOFError,
    OverflowError,
    AssertionError,
)


def validate_pdf(data: bytes) -> PdfReport:
    try:
        return asyncio.run(_validate(data))
    except PARSER_ERRORS as error:
        # Logged with its traceback: were it a bug of ours rather than a broken file, it shows.
        logger.info("PDF ilegible: %s: %s", type(error).__name__, error, exc_info=True)
        raise PdfUnreadable(f"{type(error).__name__}: {error}") from error


async def _validate(data: bytes) -> PdfReport:
    reader = PdfFileReader(BytesIO(data), strict=False)
    signatures = list(reader.embedded_regular_signatures)
    timestamps = list(reader.embedded_timestamp_signatures)
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        dss = None

    signature_reports = [await _signature_report(sig, dss) for sig in signatures]
    timestamp_reports = [await _timestamp_report(ts) for ts in timestamps]
    ok = bool(signature_reports) and all(report.bottom_line for report in signature_reports)
    ok = ok and all(report.bottom_line for report in timestamp_reports)
    return PdfReport(ok=ok, signatures=signature_reports, document_timestamps=timestamp_reports)


async def _signature_report(signature, dss) -> SignatureReport:
    # A file that carries its own validation data is judged on it, offline, as of its
    # time-stamp (that is what B-LT is for); otherwise, or if that is not enough, online now.
    proven_by_file = False
    status = None
    claimed = _claimed_timestamp(signature)
    if dss is not None and claimed is not None:
        status = await _status(signature, moment=claimed, dss=dss)
        proven_by_file = bool(
            status is not None
            and status.bottom_line
            and status.timestamp_validity is not None
            and _timestamp_good(status.timestamp_validity)
        )
    if not proven_by_file:
        status = await _status(signature)
    if status is None:
        return _broken_signature(signature)
    identity = subject_identity(status.signing_cert)
    timestamp_status = status.timestamp_validity
    timestamp_ok = timestamp_status is not None and _timestamp_good(timestamp_status)
    timestamp = timestamp_status.timestamp if timestamp_status is not None else None

    level = None
    if status.intact and status.valid:
        level = "B-B"
        if timestamp_ok:
            level = "B-T"
            if proven_by_file:
                level = "B-LT"
                if await _covered_by_document_timestamp(signature):
                    level = "B-LTA"
    modification_ok = status.modification_level in ACCEPTED_MODIFICATIONS
    coverage_ok = status.coverage in ACCEPTED_COVERAGE
    return SignatureReport(
        field=signature.field_name,
        signer_name=identity.name,
        curp=identity.curp,
        rfc=identity.rfc,
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        revoked=status.revoked,
        bottom_line=bool(
            status.bottom_line
            and not status.revoked
            and (timestamp_status is None or timestamp_ok)
            and modification_ok
            and coverage_ok
        ),
        signing_time=_iso(status.signer_reported_dt),
        timestamp=_iso(timestamp),
        level=level,
        modification_level=status.modification_level.name if status.modification_level else None,
        coverage=status.coverage.name if status.coverage else None,
        timestamp_authority=(
            _authority(timestamp_status.signing_cert) if timestamp_status is not None else None
        ),
        checked_at_signing=proven_by_file,
    )


async def _status(signature, *, moment: datetime.datetime | None = None, dss=None):
    """pyHanko's verdict; with a DSS, from the file alone (no network) as of ``moment``."""
    if dss is not None:
        options = {"moment": moment, "fetch": False, "retroactive_revinfo": True, "dss": dss}
    else:
        options = {}
    try:
        return await async_validate_pdf_signature(
            signature,
            signer_validation_context=validation_context(**options),
            ts_validation_context=validation_context(**options),
        )
    except (SignatureValidationError, ValueError):
        return None


def _claimed_timestamp(signature) -> datetime.datetime | None:
    """The time in the signature time-stamp token, unverified (validation checks it)."""
    unsigned = signature.signer_info["unsigned_attrs"]
    if not unsigned or unsigned.native is None:
        return None
    for attribute in unsigned:
        if attribute["type"].native == "signature_time_stamp_token":
            token = attribute["values"][0]
            tst_info = token["content"]["encap_content_info"]["content"].parsed
            return tst_info["gen_time"].native
    return None


async def _covered_by_document_timestamp(signature) -> bool:
    reader = signature.reader
    later = [
        ts
        for ts in reader.embedded_timestamp_signatures
        if ts.signed_revision > signature.signed_revision
    ]
    for document_timestamp in later:
        report = await _timestamp_report(document_timestamp)
        if report.bottom_line:
            return True
    return False


async def _timestamp_report(document_timestamp) -> TimestampReport:
    try:
        status = await async_validate_pdf_timestamp(
            document_timestamp, validation_context=validation_context()
        )
    except (SignatureValidationError, ValueError):
        return TimestampReport(
            field=document_timestamp.field_name,
            timestamp=None,
            intact=False,
            valid=False,
            trusted=False,
            bottom_line=False,
        )
    return TimestampReport(
        field=document_timestamp.field_name,
        timestamp=_iso(status.timestamp),
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted,
        bottom_line=_timestamp_good(status),
        authority=_authority(status.signing_cert),
    )


def _broken_signature(signature) -> SignatureReport:
    try:
        identity = subject_identity(signature.signer_cert)
        name, curp, rfc = identity.name, identity.curp, identity.rfc
    except Exception:  # a mangled CMS may not even carry a certificate
        name = curp = rfc = ""
    return SignatureReport(
        field=signature.field_name,
        signer_name=name,
        curp=curp,
        rfc=rfc,
        intact=False,
        valid=False,
        trusted=False,
        revoked=False,
        bottom_line=False,
        signing_time=None,
        timestamp=None,
        level=None,
        modification_level=None,
        coverage=None,
    )


def _timestamp_good(status) -> bool:
    return bool(status.intact and status.valid and status.trusted)


def _authority(certificate) -> str | None:
    """The common name (or, without one, the whole name) of a time-stamp authority."""
    if certificate is None:
        return None
    names = certificate.subject.native
    return names.get("common_name") or certificate.subject.human_friendly


def _iso(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() if moment else None
