"""PAdES signatures whose private key stays with the signer: pyHanko's interrupted signing.

1. `pades_prepare` adds an empty signature field and placeholder to the PDF, digests the
   byte range and builds the CMS signed attributes. Everything it returns is plain bytes and
   integers, so it can be kept in the database between two HTTP requests.
2. The signer signs the DER of the signed attributes (RSASSA-PKCS1-v1_5 with SHA-256) on
   their own device.
3. `pades_finish` checks that signature value against the certificate, asks the TSA for a
   signature time-stamp (B-T), embeds the CMS, and adds the revocation data for the signer
   and the time-stamp in a DSS revision (B-LT).

Knows nothing about applications or users; `signatures.services` does.
"""

import asyncio
from dataclasses import dataclass
from io import BytesIO

from asn1crypto import cms, x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key
from django.conf import settings
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper
from pyhanko.sign.validation import dss
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signatures.trust import trust_store, validation_context

DIGEST_ALGORITHM = "sha256"
SIGNATURE_ALGORITHM = "rsassa_pkcs1v15"
# Room for the CMS: the signature, the signer's chain and the time-stamp token with the TSA's.
SIGNATURE_BYTES_RESERVED = 24 * 1024


class ServiceUnavailable(Exception):
    """The TSA or a revocation service did not answer; trying later may work."""


class SignatureValueInvalid(Exception):
    """The returned signature value does not verify against the certificate."""


@dataclass(frozen=True)
class PreparedSignature:
    pdf: bytes
    document_digest: bytes
    reserved_start: int
    reserved_end: int
    signed_attributes: bytes


@dataclass(frozen=True)
class SignatureAppearance:
    """What the signature dictionary says about the signing, shown by PDF readers."""

    field_name: str
    signer_name: str
    reason: str
    location: str


def pades_prepare(
    pdf: bytes, certificate: x509.Certificate, appearance: SignatureAppearance
) -> PreparedSignature:
    return asyncio.run(_prepare(pdf, certificate, appearance))


async def _prepare(
    pdf: bytes, certificate: x509.Certificate, appearance: SignatureAppearance
) -> PreparedSignature:
    signer = _external_signer(certificate, signature_value=256)
    metadata = signers.PdfSignatureMetadata(
        field_name=appearance.field_name,
        md_algorithm=DIGEST_ALGORITHM,
        subfilter=fields.SigSeedSubFilter.PADES,
        name=appearance.signer_name,
        reason=appearance.reason,
        location=appearance.location,
    )
    writer = IncrementalPdfFileWriter(BytesIO(pdf))
    pdf_signer = signers.PdfSigner(metadata, signer=signer, new_field_spec=_field(appearance))
    prepared_digest, _tbs, output = await pdf_signer.async_digest_doc_for_signing(
        writer, bytes_reserved=SIGNATURE_BYTES_RESERVED
    )
    signed_attributes = await signer.signed_attrs(
        prepared_digest.document_digest, DIGEST_ALGORITHM, use_pades=True
    )
    output.seek(0)
    return PreparedSignature(
        pdf=output.read(),
        document_digest=prepared_digest.document_digest,
        reserved_start=prepared_digest.reserved_region_start,
        reserved_end=prepared_digest.reserved_region_end,
        signed_attributes=signed_attributes.dump(),
    )


def signature_value_verify(
    certificate: x509.Certificate, signed_attributes: bytes, signature: bytes
) -> None:
    """RSASSA-PKCS1-v1_5 with SHA-256 over the signed attributes, by the certificate's key."""
    public_key = load_der_public_key(certificate.public_key.dump())
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise SignatureValueInvalid
    try:
        public_key.verify(signature, signed_attributes, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as error:
        raise SignatureValueInvalid from error


def pades_finish(
    prepared: PreparedSignature, certificate: x509.Certificate, signature: bytes
) -> bytes:
    """The signed PDF at PAdES B-LT. Raises SignatureValueInvalid or ServiceUnavailable."""
    signature_value_verify(certificate, prepared.signed_attributes, signature)
    return asyncio.run(_finish(prepared, certificate, signature))


async def _finish(prepared: PreparedSignature, certificate: x509.Certificate, signature: bytes):
    signer = _external_signer(certificate, signature_value=signature)
    timestamper = RequestsHTTPTimeStamper(
        settings.SIGNATURES_TSA_URL, timeout=settings.SIGNATURES_HTTP_TIMEOUT
    )
    try:
        signed_data = await signer.async_sign_prescribed_attributes(
            DIGEST_ALGORITHM,
            signed_attrs=cms.CMSAttributes.load(prepared.signed_attributes),
            timestamper=timestamper,
        )
    except (TimestampRequestError, OSError) as error:
        raise ServiceUnavailable("TSA") from error
    output = BytesIO(prepared.pdf)
    await PdfTBSDocument.async_finish_signing(
        output,
        prepared_digest=PreparedByteRangeDigest(
            document_digest=prepared.document_digest,
            reserved_region_start=prepared.reserved_start,
            reserved_region_end=prepared.reserved_end,
        ),
        signature_cms=signed_data,
    )
    return await _add_long_term_validation(output)


async def _add_long_term_validation(signed: BytesIO) -> bytes:
    """B-T → B-LT: the chain and revocation data of the signer and of the TSA, in the DSS."""
    signed.seek(0)
    reader = PdfFileReader(signed)
    signature = reader.embedded_signatures[-1]
    context = validation_context()
    try:
        output = await dss.async_add_validation_info(signature, context, output=BytesIO())
    except (PathBuildingError, PathValidationError, OSError) as error:
        raise ServiceUnavailable("revocation") from error
    output.seek(0)
    return output.read()


def _external_signer(certificate: x509.Certificate, *, signature_value) -> signers.ExternalSigner:
    store = trust_store()
    return signers.ExternalSigner(
        signing_cert=certificate,
        cert_registry=SimpleCertificateStore.from_certs([*store.intermediates, *store.roots]),
        signature_value=signature_value,
    )


def _field(appearance: SignatureAppearance) -> fields.SigFieldSpec:
    # Invisible: the contract prints who signs and how; readers show the signature panel.
    return fields.SigFieldSpec(sig_field_name=appearance.field_name, on_page=-1)
