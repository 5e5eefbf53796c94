"""What the people who run the portal rely on: /salud/, the JSON logs with request ids and
without personal data, and the backup and restore of documents by SHA-256."""

import hashlib
import io
import json
import logging
import tarfile
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ, Success

from demo.pki.server import free_port
from isseg_portal.request_log import JsonFormatter, RequestIdFilter, redact, request_id_var
from loans.models import SupportingDocument
from signatures.models import SignedDocument

# --- /salud/ -------------------------------------------------------------------------------


def test_health_reports_every_service_when_all_answer(anonymous, demo_pki):
    Success.objects.create(
        id="a" * 32,
        name="sweep",
        func="loans.tasks.seal_sweep",
        started=timezone.now() - timedelta(minutes=2),
        stopped=timezone.now() - timedelta(minutes=2),
        success=True,
    )
    response = anonymous.get(reverse("health"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok", body
    assert set(body["checks"]) == {"database", "cache", "tasks", "tsa", "ocsp"}
    assert all(check["ok"] for check in body["checks"].values())
    assert 120 <= body["checks"]["tasks"]["last_finished_seconds_ago"] < 180
    assert response["Cache-Control"].startswith("max-age=0")


def test_health_is_degraded_when_the_tsa_and_ocsp_do_not_answer(anonymous, settings):
    closed = f"http://127.0.0.1:{free_port()}"
    settings.SIGNATURES_TSA_URL = f"{closed}/tsa"
    settings.SIGNATURES_OCSP_URL = f"{closed}/ocsp"
    response = anonymous.get(reverse("health"))
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["checks"]["tsa"] == {
        "ok": False,
        "ms": body["checks"]["tsa"]["ms"],
        "error": "ConnectionError",
    }
    assert body["checks"]["ocsp"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_health_asks_outside_services_once_per_interval(anonymous, settings, demo_pki):
    first = anonymous.get(reverse("health")).json()
    settings.SIGNATURES_TSA_URL = f"http://127.0.0.1:{free_port()}/tsa"
    second = anonymous.get(reverse("health")).json()
    # The answer kept in the shared cache, not a new request to the (now wrong) address.
    assert second["checks"]["tsa"] == first["checks"]["tsa"]
    assert second["checks"]["tsa"]["ok"] is True


def test_health_is_degraded_when_no_worker_takes_the_queue(anonymous, demo_pki):
    OrmQ.objects.create(key="isseg", payload="x", lock=timezone.now() - timedelta(minutes=20))
    tasks = anonymous.get(reverse("health")).json()["checks"]["tasks"]
    assert tasks["ok"] is False
    assert tasks["waiting"] == 1
    assert tasks["oldest_waiting_seconds"] >= 20 * 60


def test_health_fails_when_the_cache_is_down(anonymous, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    response = anonymous.get(reverse("health"))
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["cache"]["ok"] is False
    assert "tsa" not in body["checks"]


# --- Logs ----------------------------------------------------------------------------------


def test_personal_data_is_masked_wherever_it_appears():
    text = (
        "GOMA850101HGTRRN01 GOMA850101AB1 012180001234567897 ana.gomez@correo.mx "
        "/verificar/3f2a1c4e-9b7d-4e21-8c55-0a1b2c3d4e5f/ "
        "/encuesta/WzEsImFiYyJd:1vX2-abcdefghijklmnopqrstuv/ "
        "sha256 " + "ab" * 32 + " PL-2026-000123"
    )
    masked = redact(text)
    for secret in (
        "GOMA850101HGTRRN01",
        "GOMA850101AB1",
        "012180001234567897",
        "ana.gomez",
        "3f2a1c4e",
        "abcdefghijklmnopqrstuv",
    ):
        assert secret not in masked
    assert "ab" * 32 in masked  # a document's hash is not personal data
    assert "PL-2026-000123" in masked


def test_a_log_record_is_one_json_line_with_the_request_id_and_no_personal_data():
    record = logging.LogRecord(
        "loans", logging.WARNING, __file__, 1, "Rechazo de %s", ("GOMA850101HGTRRN01",), None
    )
    token = request_id_var.set("req-0123456789")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert data["request_id"] == "req-0123456789"
    assert data["level"] == "WARNING"
    assert data["message"] == "Rechazo de [CURP]"
    assert "\n" not in line


def test_each_request_gets_an_id_and_one_log_line_with_its_route_not_its_path(
    applicant, complete_draft, caplog
):
    application = complete_draft
    url = reverse("loans:application_detail", args=[application.public_id])
    with caplog.at_level(logging.INFO, logger="isseg_portal.request"):
        response = applicant.get(url, HTTP_X_REQUEST_ID="lb-4f9a8b7c6d5e")
    assert response["X-Request-ID"] == "lb-4f9a8b7c6d5e"
    (record,) = [
        r
        for r in caplog.records
        if r.name == "isseg_portal.request" and r.request_id == "lb-4f9a8b7c6d5e"
    ]
    assert record.route == "/solicitudes/<uuid:public_id>/"
    assert record.status == 200
    assert record.request_id == "lb-4f9a8b7c6d5e"
    assert str(application.public_id) not in record.getMessage()


def test_a_malformed_incoming_request_id_is_replaced(anonymous):
    response = anonymous.get(reverse("home"), HTTP_X_REQUEST_ID="<script>\n")
    assert len(response["X-Request-ID"]) == 32
    assert response["X-Request-ID"] != "<script>\n"


# --- Backup and restore of documents -------------------------------------------------------


@pytest.fixture
def documents(signed_contract):
    """An applicant's uploads and their signed contract, on disk under MEDIA_ROOT."""
    names = [
        *SupportingDocument.objects.values_list("file", flat=True),
        *SignedDocument.objects.values_list("file", flat=True),
    ]
    assert len(names) >= 3
    return names


def _run(command, *args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_backup_copies_every_document_with_its_sha256(documents, tmp_path, media_root):
    archive = tmp_path / "respaldo.tar.gz"
    out, err = _run("documents_backup", str(archive))
    assert f"{len(documents)} de {len(documents)} documentos respaldados" in out
    assert "(100 %)" in err
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        assert sorted(entry["name"] for entry in manifest["documents"]) == sorted(documents)
        for entry in manifest["documents"]:
            content = tar.extractfile("documentos/" + entry["name"]).read()
            assert hashlib.sha256(content).hexdigest() == entry["sha256"]
    assert not list(tmp_path.glob(".*.partial"))


def test_backup_reports_a_damaged_or_missing_file_and_copies_the_rest(
    documents, tmp_path, media_root
):
    damaged, missing = documents[0], documents[1]
    (media_root / damaged).chmod(0o640)
    (media_root / damaged).write_bytes(b"%PDF-1.7 otro contenido")
    (media_root / missing).unlink()
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 documentos con problemas"):
        call_command("documents_backup", str(tmp_path / "r.tar"), stdout=io.StringIO(), stderr=err)
    assert "no coincide con la base de datos" in err.getvalue()
    assert f"falta el archivo {missing}" in err.getvalue()
    with tarfile.open(tmp_path / "r.tar") as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert len(manifest["documents"]) == len(documents) - 2


def test_restore_brings_back_every_file_byte_for_byte(documents, tmp_path, media_root):
    original = {name: (media_root / name).read_bytes() for name in documents}
    archive = tmp_path / "respaldo.tar"
    _run("documents_backup", str(archive))
    for name in documents:
        (media_root / name).unlink()

    out, _err = _run("documents_restore", str(archive), "--verify-only")
    assert f"{len(documents)} documentos se pueden restaurar" in out
    assert not any((media_root / name).exists() for name in documents)

    out, _err = _run("documents_restore", str(archive))
    assert f"{len(documents)} documentos restaurados, 0 ya estaban íntegros" in out
    assert {name: (media_root / name).read_bytes() for name in documents} == original

    # Idempotent: a second restore finds every file intact and writes nothing.
    out, _err = _run("documents_restore", str(archive))
    assert f"0 documentos restaurados, {len(documents)} ya estaban íntegros" in out


def test_restore_refuses_a_tampered_file_and_repairs_a_damaged_one_only_when_asked(
    documents, tmp_path, media_root
):
    archive = tmp_path / "respaldo.tar"
    _run("documents_backup", str(archive))
    # Tamper with one file inside the archive, keeping its manifest.
    tampered_archive = tmp_path / "alterado.tar"
    target = documents[0]
    with tarfile.open(archive) as source, tarfile.open(tampered_archive, "w") as out:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name == "documentos/" + target:
                data = data + b"\n%% alterado"
                member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    (media_root / target).unlink()
    with pytest.raises(CommandError, match="1 documentos rechazados"):
        call_command(
            "documents_restore", str(tampered_archive), stdout=io.StringIO(), stderr=io.StringIO()
        )
    assert not (media_root / target).exists()

    # A damaged file in storage is replaced from a good backup only with --replace-damaged.
    damaged = documents[1]
    (media_root / damaged).chmod(0o640)
    (media_root / damaged).write_bytes(b"danado")
    with pytest.raises(CommandError):
        call_command("documents_restore", str(archive), stdout=io.StringIO(), stderr=io.StringIO())
    assert (media_root / damaged).read_bytes() == b"danado"
    _run("documents_restore", str(archive), "--replace-damaged")
    expected = SupportingDocument.objects.filter(file=damaged).values_list("sha256", flat=True)
    expected = expected.first() or SignedDocument.objects.get(file=damaged).sha256
    assert hashlib.sha256((media_root / damaged).read_bytes()).hexdigest() == expected
    assert (media_root / target).exists()


def test_restore_of_something_that_is_not_a_backup_says_so(tmp_path, db):
    bogus = tmp_path / "x.tar"
    with tarfile.open(bogus, "w") as tar:
        info = tarfile.TarInfo("otro.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("documents_restore", str(bogus), stdout=io.StringIO(), stderr=err)
    assert "no es un respaldo de documentos" in err.getvalue()
    with pytest.raises(CommandError, match="No existe el respaldo"):
        call_command("documents_restore", str(tmp_path / "no-existe.tar"))
