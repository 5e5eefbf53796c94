"""Signing sessions in progress and the signed documents they produce.

A `SigningSession` holds what pyHanko's interrupted signing needs between *prepare* and
*finish* (the PDF with its placeholder, the byte-range digest, the signed attributes) for a
few minutes; it is single-use, and bound to what the caller says the document prints (its
`content_digest`): the caller invalidates it when that changes, and checks it again at finish.
A `SignedDocument` is append-only: its file is written once, under a fresh name, with its SHA-256
recorded, and never overwritten nor deleted (only a file that no record names, left by a finish
or a seal that was not recorded, is deleted a day later: `signatures.tasks.signed_files_sweep`).

Both know what they sign only by a `reference` the caller gives (a loan's folio) and a
`verification_token` printed on the document (its QR code): this app knows nothing of loans.

A signed PDF can gain later signatures by incremental updates (the institute's seal): each
result is a new `SignedDocument` that `supersedes` the one it was made from, under the same
token, since it prints the same QR code. A token thus names a chain of versions, one per kind;
the verification page shows the last one (`signatures.selectors.document_by_token`).
"""

import hashlib
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def token_digest(token: str) -> str:
    """Sessions are looked up by the SHA-256 of their token; the token itself is not stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SigningSession(models.Model):
    token_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    # What is being signed, in the caller's words (a folio), and by whose account.
    reference = models.CharField(_("referencia"), max_length=40, db_index=True)
    kind = models.CharField(_("tipo de documento"), max_length=40)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, verbose_name=_("usuario")
    )
    verification_token = models.UUIDField(_("código de verificación"))
    certificate = models.BinaryField(_("certificado (DER)"))
    prepared_pdf = models.BinaryField(_("PDF preparado"))
    document_digest = models.BinaryField()
    reserved_start = models.PositiveIntegerField()
    reserved_end = models.PositiveIntegerField()
    signed_attributes = models.BinaryField(_("atributos firmados (DER)"))
    # The caller's SHA-256 of the data the prepared document prints (a contract's terms, CLABE,
    # contact data): finishing re-computes it and refuses a document whose data changed since.
    content_digest = models.CharField(_("huella de los datos"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("creada"))
    expires_at = models.DateTimeField(_("vence"))
    # Set when what it would sign changed (an edit, a return, a new confirmation): refused.
    invalidated_at = models.DateTimeField(_("invalidada"), null=True, blank=True)
    # Set while one request completes it (time-stamp and revocation data over the network,
    # outside any transaction): any other finish of it is refused meanwhile (see
    # `signatures.services.FINISH_LEASE`).
    claimed_at = models.DateTimeField(_("en curso desde"), null=True, blank=True)
    finished_at = models.DateTimeField(_("terminada"), null=True, blank=True)

    class Meta:
        verbose_name = _("sesión de firma")
        verbose_name_plural = _("sesiones de firma")
        indexes = [models.Index(fields=["expires_at"], name="signing_session_expiry")]

    def __str__(self) -> str:
        return f"{self.reference} · {self.created_at:%Y-%m-%d %H:%M}"


def signed_document_path(instance: "SignedDocument", filename: str) -> str:
    return f"firmados/{instance.created_at:%Y/%m}/{instance.public_id.hex}.pdf"


class SignedDocument(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Printed on the document (QR code): the public verification page finds it by this. Shared
    # by the versions of one document (see `supersedes`); unique per kind (Meta).
    verification_token = models.UUIDField(_("código de verificación"))
    reference = models.CharField(_("referencia"), max_length=40, db_index=True)
    kind = models.CharField(_("tipo de documento"), max_length=40)
    file = models.FileField(_("archivo"), upload_to=signed_document_path, max_length=200)
    size = models.PositiveIntegerField(_("tamaño (bytes)"))
    sha256 = models.CharField("SHA-256", max_length=64, unique=True)
    signer_name = models.CharField(_("firmante"), max_length=200)
    signer_curp = models.CharField("CURP", max_length=18)
    signer_rfc = models.CharField("RFC", max_length=13)
    certificate_serial = models.CharField(_("número de serie del certificado"), max_length=80)
    certificate_issuer = models.CharField(_("emisor del certificado"), max_length=200)
    # Empty when no person's account signed: the institute's seal, applied by a task.
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("cuenta que firmó"),
    )
    # The version this one was made from by adding a signature; one successor at most, so a
    # document is never sealed twice into two different files.
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        verbose_name=_("versión anterior"),
    )
    created_at = models.DateTimeField(_("firmado"))
    # What `signatures.validation.validate_pdf` reported on this file (`PdfReport.as_dict()`),
    # computed once after it was stored (`signatures.tasks.document_validate`): pages show it
    # without validating the PDF again on every view.
    validation_report = models.JSONField(_("informe de validación"), null=True, editable=False)
    validated_at = models.DateTimeField(_("validado"), null=True, editable=False)

    class Meta:
        verbose_name = _("documento firmado")
        verbose_name_plural = _("documentos firmados")
        ordering = ["reference", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["verification_token", "kind"], name="signed_document_token_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.reference} · {self.kind}"
