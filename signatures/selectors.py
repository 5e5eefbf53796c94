"""Reads of signed documents that follow their relations."""

import uuid

from signatures.models import SignedDocument


def document_by_token(*, token: uuid.UUID) -> SignedDocument | None:
    """The latest version of the document that prints this verification token (its QR code).

    A sealed contract supersedes the one the applicant signed and keeps its token: the public
    verification page shows the one nothing supersedes.
    """
    return SignedDocument.objects.filter(
        verification_token=token, superseded_by__isnull=True
    ).first()
