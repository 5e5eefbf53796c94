"""Documents on S3 (DOCUMENTS_STORAGE=s3, django-storages): an applicant's uploads and signed
contract go to the bucket, are served from it, written once, backed up and restored by SHA-256.

The bucket is served over HTTP on localhost by moto's S3 server (an S3-compatible server, the
one S3 service that can run here), reached by boto3 exactly as a real endpoint would be.
"""

import hashlib
import io

import boto3
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse

from demo.pki.server import free_port
from isseg_portal.storage import write_once
from loans.models import SupportingDocument
from tests.builders import complete_draft_for, sign_with_efirma

BUCKET = "isseg-documentos-pruebas"


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_documents(s3_endpoint, settings, monkeypatch):
    # Credentials as a node's environment gives them to boto3 (the test server takes any).
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "prueba")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "prueba")
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": s3_endpoint,
                "region_name": "us-east-1",
                "location": "documentos",
                "default_acl": "private",
                "file_overwrite": False,
            },
        },
    }
    yield client
    listed = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for item in listed:
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


def _keys(client) -> set[str]:
    return {item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_uploads_and_the_signed_contract_live_in_the_bucket(
    s3_documents, applicant, demo_credentials
):
    draft = complete_draft_for(applicant)
    signed = sign_with_efirma(draft, demo_credentials)
    uploads = list(SupportingDocument.objects.filter(application=draft))
    assert {f"documentos/{signed.file.name}"} | {
        f"documentos/{document.file.name}" for document in uploads
    } <= _keys(s3_documents)

    body = s3_documents.get_object(Bucket=BUCKET, Key=f"documentos/{signed.file.name}")
    assert hashlib.sha256(body["Body"].read()).hexdigest() == signed.sha256

    download = applicant.get(reverse("loans:signed_contract", args=[draft.public_id]))
    assert download.status_code == 200
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == signed.sha256


def test_a_document_is_written_once_on_s3_too(s3_documents, db):
    name = write_once("contratos/prueba/documento.pdf", b"%PDF-1.7 uno")
    with pytest.raises(FileExistsError):
        write_once(name, b"%PDF-1.7 dos")
    with default_storage.open(name, "rb") as handle:
        assert handle.read() == b"%PDF-1.7 uno"
    assert _keys(s3_documents) == {"documentos/contratos/prueba/documento.pdf"}


def test_backup_and_restore_from_the_bucket(s3_documents, applicant, tmp_path):
    draft = complete_draft_for(applicant)
    names = list(
        SupportingDocument.objects.filter(application=draft).values_list("file", flat=True)
    )
    archive = tmp_path / "respaldo.tar"
    out = io.StringIO()
    call_command("documents_backup", str(archive), stdout=out, stderr=io.StringIO())
    assert f"{len(names)} de {len(names)} documentos respaldados" in out.getvalue()

    for name in names:
        s3_documents.delete_object(Bucket=BUCKET, Key=f"documentos/{name}")
    assert _keys(s3_documents) == set()
    out = io.StringIO()
    call_command("documents_restore", str(archive), stdout=out, stderr=io.StringIO())
    assert f"{len(names)} documentos restaurados" in out.getvalue()
    for document in SupportingDocument.objects.filter(application=draft):
        key = f"documentos/{document.file.name}"
        content = s3_documents.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        assert hashlib.sha256(content).hexdigest() == document.sha256
