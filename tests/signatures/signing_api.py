"""The signing API's two calls (loans:sign_prepare, loans:sign_finish), made as the signing
page makes them, for the tests whose subject is that API.

The client signs the signed attributes with `cryptography` exactly as signing.js does with
node-forge: decrypt the .key with its password, RSASSA-PKCS1-v1_5 over SHA-256 of the DER.
"""

import base64

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse


def certificate_upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("certificado.cer", data, content_type="application/pkix-cert")


def prepare(client: Client, application, certificate: bytes):
    url = reverse("loans:sign_prepare", args=[application.public_id])
    return client.post(url, {"certificate": certificate_upload(certificate)})


def finish(client: Client, application, session: str, signature: bytes):
    url = reverse("loans:sign_finish", args=[application.public_id])
    return client.post(url, {"session": session, "signature": base64.b64encode(signature).decode()})


def sign(client, application, credentials):
    """Prepare, sign the signed attributes with `credentials`, finish: the prepared body and
    the finish's response."""
    prepared = prepare(client, application, credentials.certificate)
    assert prepared.status_code == 200, prepared.json()
    body = prepared.json()
    signature = credentials.sign(base64.b64decode(body["signed_attributes"]))
    return body, finish(client, application, body["session"], signature)
