"""What an uploaded supporting document really is: checked by its content, not by its name.

An applicant's file is accepted only when three things agree: the extension of its name (what it
says it is), its first bytes (the format's signature) and the parser of that format, which must
open it (pypdf for PDF, Pillow for JPEG and PNG). The browser's content type is ignored: it is
whatever the client says. Every refusal is a `DocumentRejected` with a Spanish message for the
person who chose the file.

No database, no storage: `loans.services.application_add_document` stores what this module
accepted, under a name the server makes up.
"""

import hashlib
import logging
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import IO

from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError
from pypdf import PdfReader

logger = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
# A photo of a document needs far less; the cap keeps decoding a hostile image cheap.
MAX_IMAGE_PIXELS = 40_000_000

PDF = "application/pdf"
JPEG = "image/jpeg"
PNG = "image/png"

# What each extension claims, and how people call that format.
CLAIMED_TYPES = {".pdf": PDF, ".jpg": JPEG, ".jpeg": JPEG, ".png": PNG}
FORMAT_NAMES = {PDF: "PDF", JPEG: "JPG", PNG: "PNG"}

_SIGNATURES = ((b"%PDF-", PDF), (b"\x89PNG\r\n\x1a\n", PNG), (b"\xff\xd8\xff", JPEG))
_CHUNK = 64 * 1024


class DocumentRejected(ValueError):
    """The file cannot be accepted; `message` is ready to show."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class DocumentsTooLarge(DocumentRejected):
    """The file is acceptable, but the application's documents would take more storage than
    DOCUMENTS_MAX_BYTES_PER_APPLICATION."""


@dataclass(frozen=True)
class CheckedDocument:
    content_type: str
    size: int
    sha256: str
    # The name as the applicant had it, fit to display (never used as a path).
    display_name: str


def document_check(*, file: IO[bytes], name: str, size: int) -> CheckedDocument:
    """Accept `file` as a PDF, JPEG or PNG whose content matches its name, or raise."""
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentRejected(size_message(size))
    if size == 0:
        raise DocumentRejected(_("El archivo está vacío. Elige otro."))
    display_name = display_name_of(name)
    extension = _extension(display_name)
    claimed = CLAIMED_TYPES.get(extension)
    if claimed is None:
        raise DocumentRejected(
            _("Solo se aceptan archivos PDF, JPG o PNG (terminan en .pdf, .jpg, .jpeg o .png).")
        )
    file.seek(0)
    detected = _sniffed_type(file.read(16))
    if detected != claimed:
        message = _("El archivo dice ser %(claimed)s pero su contenido no lo es.") % {
            "claimed": FORMAT_NAMES[claimed]
        }
        if detected is not None:
            message += " " + _("Parece un archivo %(detected)s: revisa que sea el correcto.") % {
                "detected": FORMAT_NAMES[detected]
            }
        raise DocumentRejected(message)
    file.seek(0)
    if detected == PDF:
        _pdf_opens(file)
    else:
        _image_opens(file, content_type=detected)
    return CheckedDocument(
        content_type=detected, size=size, sha256=sha256_of(file), display_name=display_name
    )


def size_message(size: int) -> str:
    return _(
        "El archivo pesa %(size)s MB y el máximo es 5 MB. Si es una foto, tómala con menor "
        "resolución; si es un PDF, escanéalo con menor calidad."
    ) % {
        # Rounded up, so a file just over the limit never reads "5.0 MB".
        "size": f"{math.ceil(size * 10 / (1024 * 1024)) / 10:.1f}"
    }


def sha256_of(file: IO[bytes]) -> str:
    file.seek(0)
    digest = hashlib.sha256()
    for chunk in iter(lambda: file.read(_CHUNK), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def display_name_of(name: str) -> str:
    """The last component of the name, without control or path characters, at most 120 long.

    Browsers send "C:\\fakepath\\ine.pdf" or worse; the name is only ever displayed (escaped)
    and offered back as the download's file name, so it must be harmless in both.
    """
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(
        " " if unicodedata.category(char).startswith(("C", "Z")) else char for char in name
    )
    name = re.sub(r'[<>:"|?*]', "", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > 120:
        extension = _extension(name)
        name = name[: 120 - len(extension)].rstrip() + extension
    return name or _("documento")


def _extension(name: str) -> str:
    match = re.search(r"\.[A-Za-z0-9]{1,5}$", name)
    return match.group(0).lower() if match else ""


def _sniffed_type(head: bytes) -> str | None:
    for signature, content_type in _SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def _pdf_opens(file: IO[bytes]) -> None:
    try:
        reader = PdfReader(file)
        if reader.is_encrypted:
            raise DocumentRejected(
                _(
                    "El PDF está protegido con contraseña y el Instituto no podría revisarlo. "
                    "Súbelo sin contraseña."
                )
            )
        pages = len(reader.pages)
    except DocumentRejected:
        raise
    except Exception as error:
        # A damaged file makes pypdf raise PdfReadError, but also ValueError, KeyError,
        # RecursionError...: whatever it is, the file cannot be opened.
        logger.info("Uploaded PDF refused: %s: %s", type(error).__name__, error)
        raise DocumentRejected(
            _(
                "El PDF está dañado o incompleto y no se puede abrir. Vuelve a generarlo o "
                "escanéalo de nuevo."
            )
        ) from None
    finally:
        file.seek(0)
    if pages < 1:
        raise DocumentRejected(_("El PDF no tiene páginas."))


def _image_opens(file: IO[bytes], *, content_type: str) -> None:
    damaged = _("La imagen está dañada o incompleta y no se puede abrir. Toma la foto de nuevo.")
    expected = {JPEG: "JPEG", PNG: "PNG"}[content_type]
    try:
        with Image.open(file) as image:
            if image.format != expected:
                raise DocumentRejected(damaged)
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise DocumentRejected(
                    _(
                        "La imagen mide %(width)s × %(height)s píxeles, demasiado grande. "
                        "Tómala con menor resolución."
                    )
                    % {"width": width, "height": height}
                )
            # verify() walks the structure (every PNG chunk and its CRC) without decoding.
            image.verify()
        if content_type == JPEG:
            # A JPEG's structure says little: decode it (at 1/8 scale, cheap) so a truncated
            # or corrupt scan is refused now rather than found by the analyst.
            file.seek(0)
            with Image.open(file) as image:
                image.draft("RGB", (image.size[0] // 8 or 1, image.size[1] // 8 or 1))
                image.load()
    except DocumentRejected:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise DocumentRejected(damaged) from None
    finally:
        file.seek(0)
