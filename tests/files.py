"""Small valid files made in code, as an applicant would upload them: a one-page PDF, and a
JPEG or PNG picture."""

import io

from PIL import Image
from pypdf import PdfWriter


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def image_bytes(image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), "navy").save(buffer, image_format)
    return buffer.getvalue()
