"""What an uploaded supporting document really is: checked by its content, not by its name.

An applicant's file is accepted only when three things agree: the extension of its name (what it
says it is), its first bytes (the format's signature) and the parser of that format, which must
open it (pypdf for PDF, Pillow for JPEG and PNG). The browser's content type is ignored: it is
whatever the client says. A PDF that would run something when an analyst opens it (JavaScript,
a /Launch, an /OpenAction or /AA action) or carries other files inside is refused, and so is a
picture that does not decode whole. Every refusal is a `DocumentRejected` with a Spanish message
for the person who chose the file.

No database, no storage: `loans.services.application_add_document` stores what this module
accepted, under a name the server makes up.
"""

import hashlib
import logging
import math
import re
import struct
import threading
import unicodedata
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from PIL import Image, ImageFile, UnidentifiedImageError
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject

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

# Why a PDF with active content is refused, by kind (see `_pdf_active_content`).
ACTIVE_CONTENT_MESSAGES = {
    "javascript": _lazy(
        "El PDF contiene código JavaScript, que el Instituto no acepta por seguridad."
    ),
    "launch": _lazy(
        "El PDF contiene una acción que abre otros programas o archivos, que el Instituto no "
        "acepta por seguridad."
    ),
    "automatic": _lazy(
        "El PDF contiene acciones que se ejecutan solas al abrirlo o al recorrerlo, que el "
        "Instituto no acepta por seguridad."
    ),
    "embedded": _lazy(
        "El PDF contiene otros archivos adjuntos, que el Instituto no acepta por seguridad."
    ),
}

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
        active = _pdf_active_content(reader)
        if active is not None:
            raise DocumentRejected(
                ACTIVE_CONTENT_MESSAGES[active]
                + " "
                + _("Imprímelo como PDF o escanéalo de nuevo y súbelo otra vez.")
            )
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


def _pdf_active_content(reader: PdfReader) -> str | None:
    """The first kind of active content (a key of ACTIVE_CONTENT_MESSAGES) among the objects the
    file's trailer reaches (catalogue, pages, annotations, form fields, name trees, actions
    chained by /Next), or None. Each object is visited once; streams by their dictionary only.
    """
    seen: set[tuple[int, int]] = set()
    pending: list[PdfObject] = [reader.trailer]
    while pending:
        item = pending.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in seen:
                continue
            seen.add(key)
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            found = _active_entry(item)
            if found is not None:
                return found
            pending.extend(item.values())
        elif isinstance(item, ArrayObject):
            pending.extend(item)
    return None


def _active_entry(entry: DictionaryObject) -> str | None:
    action = _resolved(entry, "/S")
    if "/JS" in entry or "/JavaScript" in entry or action == "/JavaScript":
        return "javascript"
    if action == "/Launch":
        return "launch"
    # An /OpenAction that is only a destination (the page to open at) runs nothing.
    if "/AA" in entry or isinstance(_resolved(entry, "/OpenAction"), DictionaryObject):
        return "automatic"
    if (
        "/EmbeddedFiles" in entry
        or "/EF" in entry
        or _resolved(entry, "/Type") == "/EmbeddedFile"
        or _resolved(entry, "/Subtype") == "/FileAttachment"
    ):
        return "embedded"
    return None


def _resolved(entry: DictionaryObject, key: str) -> PdfObject | None:
    value = dict.get(entry, key)
    return value.get_object() if value is not None else None


# A lock, so that two checks at once never restore each other's value of Pillow's global.
_PILLOW_STRICTNESS = threading.Lock()


@contextmanager
def _truncated_pictures_refused() -> Iterator[None]:
    """Pillow's `ImageFile.LOAD_TRUNCATED_IMAGES` off for the block, and back as it was after.

    WeasyPrint turns it on for the whole process when it is imported (in the portal, always: it
    renders the contract), and with it on Pillow completes a truncated picture silently. A
    render in another thread meanwhile meets Pillow's own default, which only refuses broken
    pictures, and the portal renders none of its applicants'.
    """
    with _PILLOW_STRICTNESS:
        lenient = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = lenient


def _image_opens(file: IO[bytes], *, content_type: str) -> None:
    damaged = _("La imagen está dañada o incompleta y no se puede abrir. Toma la foto de nuevo.")
    expected = {JPEG: "JPEG", PNG: "PNG"}[content_type]
    try:
        with _truncated_pictures_refused():
            _image_decodes(file, content_type=content_type, expected=expected, damaged=damaged)
    except DocumentRejected:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise DocumentRejected(damaged) from None
    finally:
        file.seek(0)


def _image_decodes(file: IO[bytes], *, content_type: str, expected: str, damaged: str) -> None:
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
    file.seek(0)
    if content_type == JPEG:
        # A JPEG's structure says little: decode it (at 1/8 scale, cheap) so a truncated
        # or corrupt scan is refused now rather than found by the analyst.
        with Image.open(file) as image:
            image.draft("RGB", (image.size[0] // 8 or 1, image.size[1] // 8 or 1))
            image.load()
    elif not _png_whole(file):
        raise DocumentRejected(damaged)


# PNG: the samples of each color type, and the passes of Adam7 interlacing (x, y, dx, dy).
_PNG_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_PNG_DEPTHS = {1, 2, 4, 8, 16}
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


def _png_whole(file: IO[bytes]) -> bool:
    """Every chunk whole, with its checksum, up to IEND, and the picture data inflating to the
    very number of bytes its header announces.

    A PNG whose chunks are whole but whose picture stops short passes Pillow's verify(), which
    does not decode; decoding it whole would take a few hundred megabytes for a large photo.
    Inflating and counting takes a 64 KiB buffer.
    """
    file.seek(8)
    announced: int | None = None
    inflater = zlib.decompressobj()
    inflated = 0
    while True:
        head = file.read(8)
        if len(head) < 8:
            return False
        length, kind = struct.unpack(">I4s", head)
        if length > MAX_DOCUMENT_BYTES:
            return False
        data = file.read(length)
        checksum = file.read(4)
        if len(data) < length or len(checksum) < 4:
            return False
        if zlib.crc32(kind + data) != struct.unpack(">I", checksum)[0]:
            return False
        if kind == b"IHDR":
            announced = _png_data_size(data)
        elif kind == b"IDAT":
            if announced is None:
                return False
            inflated += _inflated_size(inflater, data, limit=announced - inflated)
            if inflated > announced:
                return False
        elif kind == b"IEND":
            if announced is None or not inflater.eof:
                return False
            return inflated == announced


def _png_data_size(header: bytes) -> int | None:
    """The bytes the picture inflates to (a filter byte per row), from IHDR; None if invalid."""
    if len(header) != 13:
        return None
    width, height, depth, color, _compression, _filter, interlace = struct.unpack(
        ">IIBBBBB", header
    )
    samples = _PNG_SAMPLES.get(color)
    if samples is None or depth not in _PNG_DEPTHS or interlace not in (0, 1):
        return None

    def size(columns: int, rows: int) -> int:
        return rows * (1 + (columns * samples * depth + 7) // 8) if columns and rows else 0

    if interlace == 0:
        return size(width, height)
    return sum(
        size((width - x + dx - 1) // dx, (height - y + dy - 1) // dy) for x, y, dx, dy in _ADAM7
    )


def _inflated_size(inflater, data: bytes, *, limit: int) -> int:
    """How many bytes `data` adds to the inflated stream, counting past `limit` by one at most."""
    total = 0
    while not inflater.eof and total <= limit:
        out = inflater.decompress(data, min(_CHUNK, limit - total + 1))
        total += len(out)
        data = inflater.unconsumed_tail
        if not data and not out:
            break
    return total
