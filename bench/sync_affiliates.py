"""Benchmark of the affiliate sync: 200,000 rows from CSV and from the DB-API source.

    DJANGO_DEBUG=1 .venv/bin/python bench/sync_affiliates.py [--rows 200000] [--keep] [--json F]

Uses a throw-away SQLite portal database in a temporary folder (DATABASE_URL is set before
Django starts, then migrated), so it never touches var/portal.sqlite3. Generating valid rows is
not what is measured: identities are derived from a small pool by changing the birth date and
homonym characters and recomputing the check digits, which is much faster than building each
one from scratch.
"""

import argparse
import csv
import json
import os
import platform
import random
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
TEMPORARY = Path(tempfile.mkdtemp(prefix="bench-sync-"))

# Before Django reads its settings: the portal and the institute databases live in TEMPORARY.
os.environ["DATABASE_URL"] = f"sqlite:///{TEMPORARY / 'portal.sqlite3'}"
os.environ["AFFILIATES_DB_DRIVER"] = "sqlite3"
os.environ["AFFILIATES_DB_DSN"] = str(TEMPORARY / "institute.sqlite3")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "isseg_portal.settings")
sys.path.insert(0, str(PROJECT))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from affiliates.identifiers import curp_check_digit, rfc_check_digit  # noqa: E402
from affiliates.models import Affiliate, AffiliateLoan  # noqa: E402
from affiliates.sources import (  # noqa: E402
    AFFILIATE_COLUMNS,
    LOAN_COLUMNS,
    CsvSource,
    source_from_settings,
)
from affiliates.sync import affiliates_sync  # noqa: E402
from demo.affiliates import EMPLOYERS, MUNICIPALITIES, random_identity  # noqa: E402
from demo.institute import create_institute_database  # noqa: E402

STATUSES = ["activo"] * 7 + ["pensionado", "jubilado", "baja"]
HOMONYMS = "0123456789"
HOMOCLAVE = "123456789ABCDEFGHIJKLMNPQRSTUV"


def generate(rows: int, *, seed: int = 7) -> Iterator[tuple[dict, list]]:
    """(affiliate row, loan rows) pairs; the same seed gives the same rows."""
    rng = random.Random(seed)
    pool = []
    for _ in range(500):
        birth = date(rng.randint(1950, 1999), rng.randint(1, 12), rng.randint(1, 28))
        pool.append(random_identity(rng, birth_date=birth, female=rng.random() < 0.55))
    seen: set[str] = set()
    made = 0
    attempt = 0
    while made < rows:
        attempt += 1
        identity = pool[attempt % len(pool)]
        birth = date(1950, 1, 1) + timedelta(days=rng.randint(0, 18000))
        first_17 = (
            identity["curp"][:4]
            + birth.strftime("%y%m%d")
            + identity["curp"][10:16]
            + rng.choice(HOMONYMS)
        )
        curp = first_17 + curp_check_digit(first_17)
        if curp in seen:
            continue
        seen.add(curp)
        made += 1
        first_12 = curp[:10] + rng.choice(HOMOCLAVE) + rng.choice(HOMOCLAVE)
        number = str(1_000_000 + made)
        base = rng.randint(400_000, 2_600_000)
        code, name = rng.choice(EMPLOYERS)
        loans = []
        for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
            total = rng.choice((48, 72, 96, 120))
            loans.append(
                {
                    "numero_afiliacion": number,
                    "clave_producto": rng.choice(("PC", "PE", "PA")),
                    "monto_original": f"{rng.randint(150, 1200) * 100}.00",
                    "saldo": f"{rng.randint(1000, 15000)}.{rng.randint(0, 99):02d}",
                    "pagos_realizados": str(rng.randint(0, total)),
                    "pagos_totales": str(total),
                    "pago_quincenal": f"{rng.randint(300, 2500)}.{rng.randint(0, 99):02d}",
                }
            )
        yield (
            {
                "numero_afiliacion": number,
                "curp": curp,
                "rfc": first_12 + rfc_check_digit(first_12),
                "nombre": identity["given_names"],
                "primer_apellido": identity["first_surname"],
                "segundo_apellido": identity["second_surname"],
                "fecha_nacimiento": birth.isoformat(),
                "sexo": curp[10],
                "email": f"afiliado{number}@example.org",
                "telefono": f"47{rng.randint(10_000_000, 99_999_999)}",
                "estatus": rng.choice(STATUSES),
                "clave_dependencia": code,
                "dependencia": name,
                "municipio": rng.choice(MUNICIPALITIES),
                "fecha_inicio_cotizacion": (birth + timedelta(days=7000)).isoformat(),
                "sueldo_base_quincenal": f"{base // 100}.{base % 100:02d}",
                "neto_quincenal": f"{base * 8 // 1000}.{base * 8 // 10 % 100:02d}",
                "descuentos_quincenales": f"{rng.randint(0, 2000)}.{rng.randint(0, 99):02d}",
            },
            loans,
        )


def write_files(rows: int, folder: Path) -> tuple[Path, Path, Path, int]:
    """The affiliates and loans CSV, a copy with every tenth salary raised, and the institute
    database with the same rows; generated once and streamed, never all held in memory."""
    affiliates_path = folder / "afiliados.csv"
    loans_path = folder / "prestamos.csv"
    changed_path = folder / "afiliados-cambiados.csv"
    loans_written = 0
    with (
        affiliates_path.open("w", encoding="utf-8", newline="") as affiliates_file,
        loans_path.open("w", encoding="utf-8", newline="") as loans_file,
    ):
        affiliates = csv.DictWriter(affiliates_file, AFFILIATE_COLUMNS)
        loans = csv.DictWriter(loans_file, LOAN_COLUMNS)
        affiliates.writeheader()
        loans.writeheader()
        for affiliate, affiliate_loans in generate(rows):
            affiliates.writerow(affiliate)
            loans.writerows(affiliate_loans)
            loans_written += len(affiliate_loans)
    with (
        affiliates_path.open(encoding="utf-8", newline="") as source,
        changed_path.open("w", encoding="utf-8", newline="") as target,
    ):
        reader = csv.DictReader(source)
        writer = csv.DictWriter(target, AFFILIATE_COLUMNS)
        writer.writeheader()
        for index, row in enumerate(reader):
            if index % 10 == 0:
                row["sueldo_base_quincenal"] = f"{Decimal(row['sueldo_base_quincenal']) + 100}"
            writer.writerow(row)
    with (
        affiliates_path.open(encoding="utf-8", newline="") as affiliates_file,
        loans_path.open(encoding="utf-8", newline="") as loans_file,
    ):
        create_institute_database(
            folder / "institute.sqlite3",
            csv.DictReader(affiliates_file),
            csv.DictReader(loans_file),
        )
    return affiliates_path, loans_path, changed_path, loans_written


def peak_mib() -> float:
    # ru_maxrss is in KiB on Linux: the peak of the whole process so far.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


FIGURES: list[dict] = []


def timed(label: str, rows: int, run) -> None:
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    FIGURES.append(
        {
            "label": label,
            "seconds": seconds,
            "rows_per_s": rows / seconds,
            "peak_rss_mib": peak_mib(),
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "rejected": len(result.rejected),
        }
    )
    print(
        f"{label:<38} {seconds:7.1f} s  {rows / seconds:9,.0f} rows/s  "
        f"peak RSS {peak_mib():6.0f} MiB  created={result.created:,} updated={result.updated:,} "
        f"unchanged={result.unchanged:,} rejected={len(result.rejected):,} "
        f"loans rejected={len(result.loans_rejected):,}"
    )


def empty_portal() -> None:
    with connection.cursor() as cursor:
        for table in (AffiliateLoan._meta.db_table, Affiliate._meta.db_table):
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608  # constant table names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    options = parser.parse_args()
    rows = options.rows
    try:
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        csv_path, loans_path, changed_csv, loans = write_files(rows, TEMPORARY)
        print(
            f"Generated {rows:,} affiliates and {loans:,} loans (CSV, changed CSV, institute "
            f"database) in {time.perf_counter() - started:.1f} s; peak RSS {peak_mib():.0f} MiB"
        )
        print(
            f"Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, "
            f"{os.cpu_count()} CPUs, {platform.platform()}"
        )

        def from_csv(affiliates: Path, loans: Path):
            return lambda: affiliates_sync(
                source=CsvSource(affiliates_path=affiliates, loans_path=loans)
            )

        timed("CSV, first sync (empty portal)", rows, from_csv(csv_path, loans_path))
        timed("CSV, re-sync (no changes)", rows, from_csv(csv_path, loans_path))
        timed("CSV, 10% of rows changed", rows, from_csv(changed_csv, loans_path))
        empty_portal()
        timed(
            "DB-API, first sync (empty portal)",
            rows,
            lambda: affiliates_sync(source=source_from_settings(timeout=300)),
        )
        timed(
            "DB-API, re-sync (no changes)",
            rows,
            lambda: affiliates_sync(source=source_from_settings(timeout=300)),
        )
        if options.json:
            Path(options.json).write_text(json.dumps({"rows": rows, "runs": FIGURES}, indent=2))
    finally:
        if options.keep:
            print(f"Kept {TEMPORARY}")
        else:
            shutil.rmtree(TEMPORARY, ignore_errors=True)


if __name__ == "__main__":
    main()
