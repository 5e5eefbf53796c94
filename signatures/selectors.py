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


def document_replacement(*, document: SignedDocument) -> SignedDocument | None:
    """The version signed anew that took the place of `document`'s, or None while it stands.

    A document is known by its reference and kind (`signatures.services.latest_signed_document`).
    When it is signed again from the start (a contract corrected after it was returned), the
    new signature prints a new verification token: the first document of the same reference and
    of a kind of `document`'s chain (the signed one, the sealed one) signed after that chain began
    under another token replaced it. What is returned is that first document: its `created_at`
    says when, its token leads to its own page (which says in turn if it was replaced).
    """
    chain = SignedDocument.objects.filter(verification_token=document.verification_token)
    kinds = set(chain.values_list("kind", flat=True))
    began = chain.order_by("created_at").values_list("created_at", flat=True).first()
    if began is None:
        return None
    return (
        SignedDocument.objects.filter(
            reference=document.reference, kind__in=kinds, created_at__gt=began
        )
        .exclude(verification_token=document.verification_token)
        .order_by("created_at")
        .first()
    )
