"""What the web benchmarks share (bench/throughput.py, bench/queries.py): a scratch PostgreSQL
database of their own and the environment of a production-like server, set before Django starts.

Only databases whose name starts with `isseg_bench` are ever created or dropped here.
"""

import os
import socket
import sys
import warnings
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
POSTGRES_SERVER = "postgres://postgres@127.0.0.1:5432"
BENCH_PREFIX = "isseg_bench"


def _server():
    import psycopg

    return psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True)


def _identifier(name: str):
    from psycopg import sql

    if not name.startswith(BENCH_PREFIX):
        raise ValueError(f"Not a benchmark database: {name}")
    return sql.Identifier(name)


def postgres_exists(name: str) -> bool:
    with _server() as server:
        return bool(
            server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        )


def postgres_recreate(name: str) -> str:
    """A fresh, empty database `name` (an isseg_bench* name); its URL."""
    from psycopg import sql

    with _server() as server:
        server.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(_identifier(name)))
        server.execute(sql.SQL("CREATE DATABASE {}").format(_identifier(name)))
    return f"{POSTGRES_SERVER}/{name}"


def postgres_drop(name: str) -> None:
    from psycopg import sql

    with _server() as server:
        server.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(_identifier(name)))


def server_environment(*, database_url: str, var_dir: Path, pki_port: int) -> dict[str, str]:
    """The environment of a server configured as in production (DEBUG off) except for HTTPS,
    the staff's second factor and collectstatic, with nothing of var/ read or written."""
    return {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_STATIC_MANIFEST": "0",
        "STAFF_REQUIRE_MFA": "0",
        "ISSEG_VAR_DIR": str(var_dir),
        "AFFILIATES_DB_DRIVER": "sqlite3",
        "AFFILIATES_DB_DSN": str(var_dir / "institute_demo.sqlite3"),
        "DEMO_PKI_PORT": str(pki_port),
        # The demo PKI's keys and the seal live in var_dir too (the settings' defaults).
        "DEMO_PKI_DIR": str(var_dir / "demo_pki"),
    }


def free_port() -> int:
    """A localhost port nobody listens on right now (as demo.pki.server's)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def django_setup(environment: dict[str, str]) -> None:
    """Set the environment and start Django in this process."""
    os.environ.update(environment)
    sys.path.insert(0, str(PROJECT))
    # WhiteNoise looks for STATIC_ROOT, which only exists after collectstatic.
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
