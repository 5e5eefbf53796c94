"""Running `seed_demo` under test: where it writes, and its output."""

from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings

from demo.pki.authority import DEMO_SEAL_PASSWORD


def demo_settings(directory: Path, seal_pkcs12: Path) -> dict:
    """Where a seeding under test writes: its own institute database and media, and the seal
    of the session's PKI (whose services already answer on DEMO_PKI_PORT, so seed_demo uses
    them instead of serving its own)."""
    return {
        "AFFILIATES_SOURCE": {
            **django_settings.AFFILIATES_SOURCE,
            "DRIVER": "sqlite3",
            "DSN": str(directory / "institute_demo.sqlite3"),
        },
        "MEDIA_ROOT": directory / "media",
        "SIGNATURES_SEAL_PKCS12": seal_pkcs12,
        "SIGNATURES_SEAL_PASSWORD": DEMO_SEAL_PASSWORD,
    }


def seed(*options: str) -> str:
    """`seed_demo --force` with `options`; what it printed."""
    out = StringIO()
    call_command("seed_demo", "--force", *options, stdout=out, stderr=out)
    return out.getvalue()


@contextmanager
def seeded_for_a_while(
    django_db_blocker, directory: Path, seal_pkcs12: Path, *options: str
) -> Iterator[str]:
    """One `seed_demo` (with `options`) whose writes last until the block ends, and are undone
    then: for a class or a module of tests that only read what it leaves (each test still runs
    in its own savepoint, as usual). What it printed."""
    overrides = override_settings(**demo_settings(directory, seal_pkcs12))
    with django_db_blocker.unblock(), overrides, transaction.atomic():
        yield seed(*options)
        transaction.set_rollback(True)
