"""Documents that are written once and never replaced: signed contracts, seals, uploads.
(An upload replaced in a draft that was never signed is deleted, not overwritten:
`loans.services.application_add_document`.)

A stored document is evidence: its SHA-256 is recorded beside it, and a second write under the
same name must fail rather than replace it. `write_once` gives that guarantee on the storages
the portal runs on (a local or shared directory, an S3 bucket).
"""

import os
import secrets
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage


def write_once(name: str, content: bytes) -> str:
    """Write a new document atomically, refusing to replace an existing one.

    On disk (MEDIA_ROOT, local or a shared mount) the bytes go to a temporary file in the same
    directory, which is then hard-linked to its final name: the link fails if the name exists,
    and a reader never sees half a file. On S3 (DOCUMENTS_STORAGE=s3) an object appears whole
    or not at all; the storage never overwrites (file_overwrite=False) and picks another name
    when one exists, which is refused here as the link is on disk.
    """
    try:
        path = Path(default_storage.path(name))
    except NotImplementedError:
        if default_storage.exists(name):
            raise FileExistsError(name) from None
        stored = default_storage.save(name, ContentFile(content))
        if stored != name:
            default_storage.delete(stored)
            raise FileExistsError(name) from None
        return stored
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(temporary, "xb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, path)
    finally:
        temporary.unlink()
    os.chmod(path, 0o440)
    return name
