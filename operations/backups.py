"""Backup and restore of the portal's documents, every file checked against its SHA-256.

The database (PostgreSQL, `pg_dump`) holds each document's SHA-256: the supporting documents an
applicant uploads (`loans.SupportingDocument`) and every signed or sealed contract
(`signatures.SignedDocument`). The files live in the document storage (a shared directory or
S3). These functions copy the files to a tar archive and back, and trust nothing they have not
hashed:

- `documents_backup` reads every document from the storage, hashes it, compares it with the
  database and writes it to the archive with a manifest (name, size, SHA-256, which row). A file
  that is missing or whose hash differs is not written, and is reported: a damaged original must
  be found while the last good copy still exists.
- `documents_restore` reads the archive, hashes each file, and writes it back only if its hash
  equals both the manifest's and the database's. A file already in storage with the right hash
  is left alone; one with a wrong hash (damaged) is replaced only with --replace-damaged; a
  file with the right hash is never replaced.

The archive is written under a temporary name and renamed when complete, so a half-written
backup never looks like a backup.
"""

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files.storage import default_storage
from django.utils import timezone

from isseg_portal.storage import write_once
from loans.models import SupportingDocument
from signatures.models import SignedDocument

MANIFEST = "manifest.json"
FILES_PREFIX = "documentos/"
MODELS = (SupportingDocument, SignedDocument)


@dataclass
class Outcome:
    total: int = 0
    written: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _documents() -> Iterator[tuple[str, int, str, str]]:
    """(model label, pk, storage name, SHA-256) of every document, streamed."""
    for model in MODELS:
        rows = model.objects.order_by("pk").values_list("pk", "file", "sha256")
        for pk, name, sha256 in rows.iterator(chunk_size=2000):
            yield model._meta.label, pk, name, sha256


def document_count() -> int:
    return sum(model.objects.count() for model in MODELS)


def _read(name: str) -> bytes | None:
    try:
        with default_storage.open(name, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, OSError):
        return None


def documents_backup(destination: Path, progress: Callable[[int, int], None]) -> Outcome:
    outcome = Outcome(total=document_count())
    destination = Path(destination)
    partial = destination.with_name(f".{destination.name}.partial")
    manifest = {"created_at": timezone.now().isoformat(), "documents": []}
    mode = "w:gz" if destination.name.endswith((".tar.gz", ".tgz")) else "w"
    with tarfile.open(partial, mode) as archive:
        for done, (label, pk, name, expected) in enumerate(_documents(), start=1):
            content = _read(name)
            if content is None:
                outcome.problems.append(f"{label} {pk}: falta el archivo {name}")
            elif hashlib.sha256(content).hexdigest() != expected:
                outcome.problems.append(
                    f"{label} {pk}: el SHA-256 de {name} no coincide con la base de datos"
                )
            else:
                info = tarfile.TarInfo(FILES_PREFIX + name)
                info.size = len(content)
                info.mode = 0o440
                archive.addfile(info, io.BytesIO(content))
                manifest["documents"].append(
                    {
                        "model": label,
                        "pk": pk,
                        "name": name,
                        "size": len(content),
                        "sha256": expected,
                    }
                )
                outcome.written += 1
            progress(done, outcome.total)
        body = json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8")
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(body)
        archive.addfile(info, io.BytesIO(body))
    os.replace(partial, destination)
    return outcome


def _expected_hashes() -> dict[str, str]:
    return {name: sha256 for _label, _pk, name, sha256 in _documents()}


def documents_restore(
    source: Path,
    progress: Callable[[int, int], None],
    *,
    verify_only: bool = False,
    replace_damaged: bool = False,
) -> Outcome:
    outcome = Outcome()
    in_database = _expected_hashes()
    with tarfile.open(source, "r:*") as archive:
        try:
            manifest = json.load(archive.extractfile(MANIFEST))
        except (KeyError, ValueError, TypeError):
            outcome.problems.append(f"{source}: no es un respaldo de documentos (sin manifiesto)")
            return outcome
        entries = manifest.get("documents", [])
        outcome.total = len(entries)
        for done, entry in enumerate(entries, start=1):
            _restore_one(archive, entry, in_database, outcome, verify_only, replace_damaged)
            progress(done, outcome.total)
    return outcome


def _restore_one(archive, entry, in_database, outcome, verify_only, replace_damaged) -> None:
    name, expected = entry["name"], entry["sha256"]
    try:
        member = archive.extractfile(FILES_PREFIX + name)
        content = member.read() if member is not None else None
    except KeyError:
        content = None
    if content is None:
        outcome.problems.append(f"{name}: no está en el respaldo")
        return
    actual = hashlib.sha256(content).hexdigest()
    if actual != expected:
        outcome.problems.append(f"{name}: el SHA-256 en el respaldo no coincide con el manifiesto")
        return
    if name not in in_database:
        outcome.problems.append(f"{name}: la base de datos no tiene este documento; no se restaura")
        return
    if in_database[name] != actual:
        outcome.problems.append(f"{name}: el SHA-256 no coincide con la base de datos")
        return
    current = _read(name)
    if current is not None and hashlib.sha256(current).hexdigest() == actual:
        outcome.skipped += 1
        return
    if current is not None and not replace_damaged:
        outcome.problems.append(
            f"{name}: el archivo actual está dañado (SHA-256 distinto); use --replace-damaged"
        )
        return
    if verify_only:
        outcome.written += 1
        return
    if current is not None:
        default_storage.delete(name)
    write_once(name, content)
    if hashlib.sha256(_read(name) or b"").hexdigest() != actual:
        outcome.problems.append(f"{name}: escrito, pero al leerlo de nuevo el SHA-256 no coincide")
        return
    outcome.written += 1
