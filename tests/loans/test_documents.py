"""Supporting documents: checked by content, stored under server names, served to few."""

import hashlib
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from loans.documents import MAX_DOCUMENT_BYTES, DocumentRejected, display_name_of, document_check
from loans.models import DocumentKind, SupportingDocument
from loans.services import application_cancel
from tests.builders import draft_with_account_for
from tests.files import image_bytes, pdf_bytes
from tests.loans.addresses import step_url
from tests.pages import messages_of, text

ID = DocumentKind.IDENTIFICATION


# The institute's database does not answer: the last known data are used (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("institute_down")


@pytest.fixture
def draft(applicant):
    """A draft with steps 2 and 3 saved: step 4 is open."""
    application = draft_with_account_for(applicant)
    assert application.completed_step == 3
    return application


def post_file(client, application, name: str, content: bytes, *, kind=ID, content_type=None):
    # The browser's content type is whatever the client says: here, always a plausible one.
    upload = SimpleUploadedFile(name, content, content_type or "application/pdf")
    return client.post(step_url(application, 4), {"kind": kind, "file": upload})


def check(name: str, content: bytes):
    return document_check(file=io.BytesIO(content), name=name, size=len(content))


def corrupt_jpeg() -> bytes:
    # A JPEG's signature followed by what no JPEG decoder can read.
    return b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00" + b"not really an image" * 20


def truncated(content: bytes) -> bytes:
    return content[: len(content) // 2]


# --- What is accepted, by content -------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("ine.pdf", pdf_bytes(), "application/pdf"),
        ("INE.PDF", pdf_bytes(), "application/pdf"),
        ("foto.png", image_bytes("PNG"), "image/png"),
        ("foto.jpg", image_bytes("JPEG"), "image/jpeg"),
        ("foto.jpeg", image_bytes("JPEG"), "image/jpeg"),
    ],
)
def test_real_pdfs_jpegs_and_pngs_are_accepted(name, content, content_type):
    checked = check(name, content)

    assert checked.content_type == content_type
    assert checked.size == len(content)
    assert checked.sha256 == hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "ine.pdf",
            b"Esto es un archivo de texto, no un PDF.\n",
            "El archivo dice ser PDF pero su contenido no lo es.",
        ),
        (
            "ine.pdf",
            image_bytes("PNG"),
            "El archivo dice ser PDF pero su contenido no lo es. Parece un archivo PNG",
        ),
        (
            "foto.png",
            image_bytes("JPEG"),
            "El archivo dice ser PNG pero su contenido no lo es. Parece un archivo JPG",
        ),
        ("foto.jpg", pdf_bytes(), "El archivo dice ser JPG pero su contenido no lo es."),
        ("ine.pdf", b"%PDF-1.7\n" + b"garbage " * 50, "El PDF está dañado o incompleto"),
        ("ine.pdf", truncated(pdf_bytes()), "El PDF está dañado o incompleto"),
        ("foto.jpg", corrupt_jpeg(), "La imagen está dañada o incompleta"),
        ("foto.jpg", truncated(image_bytes("JPEG")), "La imagen está dañada o incompleta"),
        ("foto.png", truncated(image_bytes("PNG")), "La imagen está dañada o incompleta"),
        ("ine.docx", b"PK\x03\x04 word", "Solo se aceptan archivos PDF, JPG o PNG"),
        ("ine", pdf_bytes(), "Solo se aceptan archivos PDF, JPG o PNG"),
        ("ine.pdf", b"", "El archivo está vacío."),
    ],
    ids=[
        "text-named-pdf",
        "png-named-pdf",
        "jpeg-named-png",
        "pdf-named-jpg",
        "corrupt-pdf",
        "truncated-pdf",
        "jpeg-pillow-cannot-open",
        "truncated-jpeg",
        "truncated-png",
        "word-document",
        "no-extension",
        "empty",
    ],
)
def test_files_whose_content_is_not_what_they_say_are_refused(name, content, message):
    with pytest.raises(DocumentRejected) as refused:
        check(name, content)

    assert refused.value.message.startswith(message)


def test_a_file_over_5_mb_is_refused_before_looking_inside():
    with pytest.raises(DocumentRejected) as refused:
        document_check(file=io.BytesIO(b""), name="ine.pdf", size=MAX_DOCUMENT_BYTES + 1)

    assert refused.value.message.startswith("El archivo pesa 5.1 MB y el máximo es 5 MB.")


def test_a_password_protected_pdf_is_refused():
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes())))
    writer.encrypt("secreta")
    buffer = io.BytesIO()
    writer.write(buffer)

    with pytest.raises(DocumentRejected) as refused:
        check("ine.pdf", buffer.getvalue())

    assert "protegido con contraseña" in refused.value.message


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("C:\\fakepath\\INE frente.pdf", "INE frente.pdf"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ('<script>alert("x")</script>.pdf', "script.pdf"),
        ("recibo\x00\n de luz.png", "recibo de luz.png"),
        ("", "documento"),
        ("a" * 300 + ".pdf", "a" * 116 + ".pdf"),
    ],
)
def test_the_original_name_is_kept_only_as_harmless_text(name, shown):
    assert display_name_of(name) == shown


# --- Uploading --------------------------------------------------------------------------------


def test_an_upload_is_stored_under_a_server_made_name(applicant, draft, media_root):
    # Given a real PDF with a name that says who the applicant is
    content = pdf_bytes()

    # When it is uploaded as the official ID
    response = post_file(applicant, draft, "INE de Ana López.pdf", content)

    # Then it is stored under solicitudes/<public_id>/<random>.pdf, not under the user's name
    assert response.status_code == 302
    assert response.url == step_url(draft, 4)
    document = SupportingDocument.objects.get()
    assert re.fullmatch(rf"solicitudes/{draft.public_id}/[0-9a-f]{{32}}\.pdf", document.file.name)
    stored = media_root / document.file.name
    assert stored.read_bytes() == content
    assert "Ana" not in str(stored)
    assert document.original_name == "INE de Ana López.pdf"
    assert document.kind == ID
    assert document.content_type == "application/pdf"
    assert document.size == len(content)
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.superseded_at is None
    assert "Guardamos tu identificación oficial." in messages_of(response)


def test_the_extension_of_the_stored_file_is_the_detected_type(applicant, draft):
    post_file(applicant, draft, "foto.JPEG", image_bytes("JPEG"), content_type="image/png")

    assert SupportingDocument.objects.get().file.name.endswith(".jpg")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "ine.pdf",
            b"Hola, soy texto.\n" * 10,
            "El archivo dice ser PDF pero su contenido no lo es.",
        ),
        ("ine.pdf", image_bytes("PNG"), "El archivo dice ser PDF pero su contenido no lo es."),
        ("ine.pdf", b"%PDF-1.4\n" + b"roto " * 40, "El PDF está dañado o incompleto"),
        ("ine.jpg", corrupt_jpeg(), "La imagen está dañada o incompleta"),
    ],
    ids=["text-named-pdf", "png-named-pdf", "corrupt-pdf", "jpeg-pillow-cannot-open"],
)
def test_a_refused_upload_says_why_and_stores_nothing(
    applicant, draft, media_root, name, content, message
):
    response = post_file(applicant, draft, name, content)

    assert response.status_code == 400
    assert message in text(response)
    assert 'aria-invalid="true"' in response.content.decode()
    assert not SupportingDocument.objects.exists()
    assert not (media_root / "solicitudes").exists() or not any(
        (media_root / "solicitudes").rglob("*.*")
    )


def test_a_file_over_5_mb_gets_a_clear_400(applicant, draft, media_root):
    content = b"%PDF-1.4\n" + b"0" * MAX_DOCUMENT_BYTES

    response = post_file(applicant, draft, "ine.pdf", content)

    assert response.status_code == 400
    assert "El archivo pesa 5.1 MB y el máximo es 5 MB." in text(response)
    assert not SupportingDocument.objects.exists()


def test_a_request_far_over_5_mb_is_refused_with_413_before_reading_it(applicant, draft):
    content = b"%PDF-1.4\n" + b"0" * (8 * 1024 * 1024)

    response = post_file(applicant, draft, "ine.pdf", content)

    assert response.status_code == 413
    assert "El archivo pesa más de 5 MB, el máximo." in text(response)
    assert not SupportingDocument.objects.exists()


def test_the_413_path_still_belongs_to_the_owner_only(other_applicant, draft):
    content = b"%PDF-1.4\n" + b"0" * (8 * 1024 * 1024)

    response = post_file(other_applicant, draft, "ine.pdf", content)

    assert response.status_code == 404


def test_a_missing_file_or_kind_is_explained(applicant, draft):
    no_file = applicant.post(step_url(draft, 4), {"kind": ID})
    no_kind = applicant.post(
        step_url(draft, 4), {"file": SimpleUploadedFile("ine.pdf", pdf_bytes())}
    )

    assert no_file.status_code == 400
    assert "Elige el archivo que vas a subir." in text(no_file)
    assert no_kind.status_code == 400
    assert "Elige qué documento estás subiendo" in text(no_kind)
    assert not SupportingDocument.objects.exists()


def test_a_double_post_of_a_document_stores_it_once(applicant, draft):
    content = pdf_bytes()

    post_file(applicant, draft, "ine.pdf", content)
    second = post_file(applicant, draft, "ine.pdf", content)

    assert second.status_code == 302
    assert SupportingDocument.objects.count() == 1
    assert "Ese archivo ya estaba guardado como tu identificación oficial." in messages_of(second)


def test_replacing_a_document_of_a_draft_deletes_the_old_one(
    applicant, draft, media_root, django_capture_on_commit_callbacks
):
    # Given an ID already uploaded
    post_file(applicant, draft, "ine.pdf", pdf_bytes())
    old = SupportingDocument.objects.get()

    # When another file replaces it (before any signature: only the applicant saw the old one)
    with django_capture_on_commit_callbacks(execute=True):
        post_file(applicant, draft, "ine-nueva.png", image_bytes("PNG"))

    # Then the new one is current, and the old one (and its file, once committed) are gone.
    # After a signature the old one stays, superseded: tests/test_quotas.py.
    current = SupportingDocument.objects.get()
    assert current.original_name == "ine-nueva.png"
    assert current.superseded_at is None
    assert not SupportingDocument.objects.filter(pk=old.pk).exists()
    assert not (media_root / old.file.name).exists()
    assert (media_root / current.file.name).exists()
    assert "ine-nueva.png" in text(applicant.get(step_url(draft, 4)))


def test_the_same_content_for_another_kind_is_another_document(applicant, draft):
    content = pdf_bytes()

    post_file(applicant, draft, "documento.pdf", content, kind=DocumentKind.IDENTIFICATION)
    post_file(applicant, draft, "documento.pdf", content, kind=DocumentKind.PROOF_OF_ADDRESS)

    assert SupportingDocument.objects.count() == 2


def test_with_the_three_documents_the_wizard_moves_to_the_review(applicant, draft):
    post_file(applicant, draft, "ine.pdf", pdf_bytes())
    post_file(applicant, draft, "luz.png", image_bytes("PNG"), kind=DocumentKind.PROOF_OF_ADDRESS)
    last = post_file(
        applicant, draft, "cuenta.jpg", image_bytes("JPEG"), kind=DocumentKind.BANK_STATEMENT
    )

    assert last.url == step_url(draft, 5)
    draft.refresh_from_db()
    assert draft.completed_step == 4


def test_documents_of_a_cancelled_application_cannot_change(applicant, draft):
    application_cancel(application=draft, actor=applicant.user, ip_address=None)

    response = post_file(applicant, draft, "ine.pdf", pdf_bytes())

    assert response.status_code == 409
    assert not SupportingDocument.objects.exists()


# --- Downloading ------------------------------------------------------------------------------


def download_url(document) -> str:
    return reverse(
        "loans:document_download",
        kwargs={
            "public_id": document.application.public_id,
            "document_id": document.public_id,
        },
    )


@pytest.fixture
def document(applicant, draft):
    post_file(applicant, draft, "INE de Ana.pdf", pdf_bytes())
    return SupportingDocument.objects.get()


def test_the_owner_downloads_the_file_as_an_attachment(applicant, document):
    response = applicant.get(download_url(document))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == pdf_bytes()
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "INE de Ana.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]


def test_staff_may_download_it(staff, document):
    response = staff.get(download_url(document))

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")


def test_another_applicant_gets_a_404(other_applicant, document):
    assert other_applicant.get(download_url(document)).status_code == 404


def test_a_document_is_only_found_under_its_own_application(applicant, document):
    wrong = reverse(
        "loans:document_download",
        kwargs={
            "public_id": "00000000-0000-0000-0000-000000000000",
            "document_id": document.public_id,
        },
    )

    assert applicant.get(wrong).status_code == 404


def test_anonymous_visitors_must_log_in_to_download(anonymous, document):
    response = anonymous.get(download_url(document))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_the_links_on_the_page_lead_to_the_download_view(applicant, document):
    html = applicant.get(step_url(document.application, 4)).content.decode()

    assert download_url(document) in html
    # The storage path is never shown.
    assert document.file.name not in html


# --- Active content and truncated pictures ---------------------------------------------------


def _pdf(build) -> bytes:
    """A one-page PDF made with pypdf, changed by `build(writer)` before it is written."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    build(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _action(kind: str, **entries):
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    action = DictionaryObject({NameObject("/S"): NameObject(kind)})
    for key, value in entries.items():
        action[NameObject(f"/{key}")] = TextStringObject(value)
    return action


def _link_with(action):
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject

    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): ArrayObject([FloatObject(v) for v in (10, 10, 200, 40)]),
            NameObject("/A"): action,
        }
    )


def open_action_javascript(writer):
    from pypdf.generic import NameObject

    writer._root_object[NameObject("/OpenAction")] = _action("/JavaScript", JS="app.alert(1)")


def named_javascript(writer):
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

    scripts = ArrayObject([TextStringObject("hola"), _action("/JavaScript", JS="app.alert(1)")])
    writer._root_object[NameObject("/Names")] = DictionaryObject(
        {NameObject("/JavaScript"): DictionaryObject({NameObject("/Names"): scripts})}
    )


def launch_link(writer):
    writer.add_annotation(0, _link_with(_action("/Launch", F="C:\\\\Windows\\\\calc.exe")))


def javascript_link(writer):
    writer.add_annotation(0, _link_with(_action("/JavaScript", JS="app.alert(1)")))


def page_additional_action(writer):
    from pypdf.generic import DictionaryObject, NameObject

    writer.pages[0][NameObject("/AA")] = DictionaryObject(
        {NameObject("/O"): _action("/URI", URI="https://example.org/")}
    )


def embedded_file(writer):
    writer.add_attachment("nomina.exe", b"MZ\x90\x00 not a real program")


def file_attachment_annotation(writer):
    from pypdf.annotations import FreeText
    from pypdf.generic import NameObject

    annotation = FreeText(text="adjunto", rect=(10, 10, 100, 40))
    annotation[NameObject("/Subtype")] = NameObject("/FileAttachment")
    writer.add_annotation(0, annotation)


ACTIVE_CONTENT = "El PDF contiene"
HOSTILE_PDFS = {
    "open-action-javascript": open_action_javascript,
    "named-javascript": named_javascript,
    "launch": launch_link,
    "javascript-link": javascript_link,
    "page-additional-action": page_additional_action,
    "embedded-file": embedded_file,
    "file-attachment-annotation": file_attachment_annotation,
}


@pytest.mark.parametrize("build", HOSTILE_PDFS.values(), ids=HOSTILE_PDFS.keys())
def test_a_pdf_with_active_content_or_embedded_files_is_refused(build):
    with pytest.raises(DocumentRejected) as refused:
        check("ine.pdf", _pdf(build))

    assert refused.value.message.startswith(ACTIVE_CONTENT)
    assert "Imprímelo como PDF o escanéalo de nuevo" in refused.value.message


def test_a_pdf_that_opens_at_a_page_and_links_to_a_site_is_accepted():
    # An /OpenAction that is only a destination (LibreOffice writes one) and a plain web link
    # are no action to refuse.
    def build(writer):
        from pypdf.generic import ArrayObject, NameObject, NullObject

        writer._root_object[NameObject("/OpenAction")] = ArrayObject(
            [writer.pages[0].indirect_reference, NameObject("/XYZ"), NullObject(), NullObject()]
        )
        writer.add_annotation(0, _link_with(_action("/URI", URI="https://isseg.gob.mx/")))

    assert check("ine.pdf", _pdf(build)).content_type == "application/pdf"


def noisy_picture(image_format: str) -> bytes:
    """A photo-like picture (noise compresses badly: most of the file is the image data)."""
    import random

    from PIL import Image

    rng = random.Random(15)
    picture = Image.frombytes("RGB", (240, 180), rng.randbytes(240 * 180 * 3))
    buffer = io.BytesIO()
    picture.save(buffer, image_format)
    return buffer.getvalue()


def jpeg_cut_in_its_scan() -> bytes:
    # Cut inside the compressed picture, after every header: what an interrupted upload leaves.
    content = noisy_picture("JPEG")
    return content[: len(content) * 3 // 4]


def png_with_half_its_picture() -> bytes:
    """Every chunk whole and with its right checksum, but the picture data stops halfway: what a
    broken phone app writes. Only decoding the picture finds it."""
    import struct
    import zlib

    content = noisy_picture("PNG")
    chunks, position = [], 8
    while position < len(content):
        (length,) = struct.unpack(">I", content[position : position + 4])
        kind = content[position + 4 : position + 8]
        chunks.append((kind, content[position + 8 : position + 8 + length]))
        position += 12 + length
    picture = zlib.decompress(b"".join(data for kind, data in chunks if kind == b"IDAT"))
    # One IDAT chunk where the picture's were, holding its first half.
    picture_at = next(index for index, (kind, _data) in enumerate(chunks) if kind == b"IDAT")
    chunks = [chunk for chunk in chunks if chunk[0] != b"IDAT"]
    chunks.insert(picture_at, (b"IDAT", zlib.compress(picture[: len(picture) // 2])))
    out = content[:8]
    for kind, data in chunks:
        out += struct.pack(">I", len(data)) + kind + data
        out += struct.pack(">I", zlib.crc32(kind + data))
    return out


@pytest.fixture
def lenient_pillow(monkeypatch):
    """Pillow as WeasyPrint leaves it once imported (in the portal, always): accepting truncated
    pictures. The check must not depend on it, nor change it for the rest of the process."""
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    yield
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True


@pytest.mark.parametrize(
    ("name", "build"),
    [("foto.jpg", jpeg_cut_in_its_scan), ("foto.png", png_with_half_its_picture)],
    ids=["jpeg-cut-in-its-scan", "png-with-half-its-picture"],
)
def test_a_truncated_picture_is_refused_whatever_pillow_s_global_says(lenient_pillow, name, build):
    with pytest.raises(DocumentRejected) as refused:
        check(name, build())

    assert refused.value.message.startswith("La imagen está dañada o incompleta")


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_a_whole_photo_like_picture_is_accepted(lenient_pillow, image_format):
    name = f"foto.{image_format.lower()}"
    assert check(name, noisy_picture(image_format)).size > 0


@pytest.mark.parametrize(
    ("name", "build", "message"),
    [
        ("ine.pdf", lambda: _pdf(open_action_javascript), ACTIVE_CONTENT),
        ("ine.pdf", lambda: _pdf(launch_link), ACTIVE_CONTENT),
        ("ine.pdf", lambda: _pdf(page_additional_action), ACTIVE_CONTENT),
        ("ine.pdf", lambda: _pdf(embedded_file), ACTIVE_CONTENT),
        ("foto.jpg", jpeg_cut_in_its_scan, "La imagen está dañada o incompleta"),
        ("foto.png", png_with_half_its_picture, "La imagen está dañada o incompleta"),
    ],
    ids=["open-action", "launch", "page-aa", "embedded-file", "truncated-jpeg", "truncated-png"],
)
def test_uploading_a_hostile_or_truncated_file_is_refused_and_loses_nothing(
    applicant, draft, media_root, lenient_pillow, name, build, message
):
    # Given the proof of address already uploaded
    post_file(applicant, draft, "luz.png", image_bytes("PNG"), kind=DocumentKind.PROOF_OF_ADDRESS)
    kept = SupportingDocument.objects.get()

    # When the official ID uploaded is a hostile PDF or a truncated picture
    response = post_file(applicant, draft, name, build())

    # Then the step says why, on the field, and what was saved is still there
    assert response.status_code == 400
    assert message in text(response)
    assert 'aria-invalid="true"' in response.content.decode()
    assert list(SupportingDocument.objects.all()) == [kept]
    assert kept.original_name in text(response)
    stored = list((media_root / "solicitudes").rglob("*.*"))
    assert stored == [media_root / kept.file.name]


def test_an_interlaced_png_is_accepted_whole_and_refused_short(lenient_pillow):
    """Adam7-interlaced (Pillow writes none; built here): seven passes of rows to count."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    width, height = 33, 17
    passes = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2))
    passes += ((0, 1, 1, 2),)
    rows = b""
    for x0, y0, dx, dy in passes:
        for y in range(y0, height, dy):
            row = bytes((x * 7 + y * 13) % 256 for x in range(x0, width, dx))
            rows += b"\x00" + row if row else b""
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 1))

    def png(data: bytes) -> bytes:
        return (
            b"\x89PNG\r\n\x1a\n"
            + header
            + chunk(b"IDAT", zlib.compress(data))
            + chunk(b"IEND", b"")
        )

    assert check("foto.png", png(rows)).content_type == "image/png"
    with pytest.raises(DocumentRejected):
        check("foto.png", png(rows[:-1]))
