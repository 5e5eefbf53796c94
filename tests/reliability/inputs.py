"""Hostile and malformed inputs for the reliability suite, made in code (nothing committed).

Each function returns the bytes of one bad file: broken PDFs, files that lie about their
format, certificates that are not certificates, and the like. The tests in this folder post
them through the portal's real endpoints.
"""

import datetime
import io

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from PIL import Image
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject

# The markup an affiliate's name must never smuggle into a page or the contract.
HOSTILE_GIVEN_NAMES = "<script>alert(1)</script>"
HOSTILE_SURNAME = 'O\'Brien & "Hijos"'
HOSTILE_NAME = f"{HOSTILE_GIVEN_NAMES} {HOSTILE_SURNAME}"


# --- PDFs -------------------------------------------------------------------------------------


def blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_with_javascript() -> bytes:
    """A one-page PDF that runs JavaScript when opened (/OpenAction /JS) and has no signature."""
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.launchURL('http://example.invalid/');"),
        }
    )
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def truncated_pdf() -> bytes:
    """A PDF cut in the middle: no xref table, no trailer."""
    data = blank_pdf()
    return data[: len(data) // 2]


def pdf_with_broken_xref() -> bytes:
    """A PDF whose startxref points into nowhere and whose xref table is garbage."""
    data = blank_pdf()
    xref = data.rindex(b"\nxref") + 1
    return data[:xref] + (
        b"xref\n0 9\nthis is not a cross-reference table\n"
        b"trailer\n<< /Size 9 /Root 77 0 R >>\nstartxref\n999999999\n%%EOF\n"
    )


def deeply_nested_pdf(depth: int = 100_000) -> bytes:
    """A small PDF whose form fields are an array nested `depth` times: a recursion bomb."""
    body = b"[" * depth + b"]" * depth
    objects = [
        b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields 4 0 R >> >>\nendobj\n",
        b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n",
        b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>\nendobj\n",
        b"4 0 obj\n" + body + b"\nendobj\n",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for obj in objects:
        offsets.append(out.tell())
        out.write(obj)
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def oversized_pdf(size: int) -> bytes:
    """A PDF header followed by `size` bytes of padding: over any upload limit, cheap to make."""
    return b"%PDF-1.4\n" + b"0" * size


# --- Images and files that lie about what they are ---------------------------------------------


def image_bytes(image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (60, 40), "navy").save(buffer, image_format)
    return buffer.getvalue()


def windows_executable() -> bytes:
    """The start of a Windows program (MZ header and DOS stub)."""
    return b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + (
        b"This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * 200
    )


def html_page() -> bytes:
    return b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def png_html_polyglot() -> bytes:
    """Starts like a PNG (its 8-byte signature) and goes on as an HTML page with a script."""
    return b"\x89PNG\r\n\x1a\n" + html_page()


def pdf_zip_polyglot() -> bytes:
    """A PDF signature in front of a ZIP archive: what some polyglot attacks upload."""
    return b"%PDF-1.4\n" + b"PK\x03\x04" + b"\x00" * 26 + b"payload.html" + html_page()


# --- Certificates -----------------------------------------------------------------------------


def self_signed_certificate(*, curp: str, rfc: str, name: str) -> bytes:
    """An e.firma-shaped certificate (the person's CURP and RFC) that no accepted CA issued."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, curp),
            x509.NameAttribute(NameOID.X500_UNIQUE_IDENTIFIER, rfc),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.DER)


def pem_armored(der: bytes, label: str = "CERTIFICATE") -> bytes:
    import base64

    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (
        f"-----BEGIN {label}-----\n".encode()
        + b"\n".join(lines)
        + f"\n-----END {label}-----\n".encode()
    )
