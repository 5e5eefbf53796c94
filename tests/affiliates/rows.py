"""Rows of the institute's layout for the sync tests: valid by default, broken on purpose."""

import csv
import itertools
import random
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path

from affiliates.sources import AFFILIATE_COLUMNS, AFFILIATE_OPTIONAL_COLUMNS, LOAN_COLUMNS
from demo.affiliates import random_identity

_rng = random.Random(20261122)
_numbers = itertools.count(500001)


def affiliate_row(**overrides: str) -> dict[str, str]:
    """A valid affiliate row (fresh number and identity); keyword arguments replace columns."""
    birth_date = date(1978, 3, 9)
    identity = random_identity(_rng, birth_date=birth_date, female=True)
    number = str(next(_numbers))
    row = {
        "numero_afiliacion": number,
        "curp": identity["curp"],
        "rfc": identity["rfc"],
        "nombre": identity["given_names"],
        "primer_apellido": identity["first_surname"],
        "segundo_apellido": identity["second_surname"],
        "fecha_nacimiento": birth_date.isoformat(),
        "sexo": "M",
        "email": f"afiliada{number}@example.org",
        "telefono": "4737351200",
        "estatus": "activo",
        "clave_dependencia": "SEG",
        "dependencia": "Secretaría de Educación de Guanajuato",
        "municipio": "Guanajuato",
        "fecha_inicio_cotizacion": "2004-02-16",
        "sueldo_base_quincenal": "10250.50",
        "neto_quincenal": "8120.75",
        "descuentos_quincenales": "615.20",
    }
    row.update(overrides)
    return row


def loan_row(number: str, **overrides: str) -> dict[str, str]:
    row = {
        "numero_afiliacion": number,
        "clave_producto": "PC",
        "monto_original": "40000.00",
        "saldo": "22000.00",
        "pagos_realizados": "30",
        "pagos_totales": "72",
        "pago_quincenal": "615.20",
    }
    row.update(overrides)
    return row


def write_csv(
    path: Path,
    rows: Iterable[Mapping[str, str]],
    *,
    columns: Sequence[str] | None = None,
    encoding: str = "utf-8",
) -> Path:
    """Write rows under a header; by default the affiliate layout, plus the optional columns
    when a row carries them."""
    rows = list(rows)
    if columns is None:
        optional = [c for c in AFFILIATE_OPTIONAL_COLUMNS if any(c in row for row in rows)]
        columns = [*AFFILIATE_COLUMNS, *optional]
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([row.get(column, "") for column in columns])
    return path


def write_loans_csv(path: Path, rows: Iterable[Mapping[str, str]]) -> Path:
    return write_csv(path, rows, columns=LOAN_COLUMNS)


# The letter the institute's views use for each sex (as the CURP does).
SEX_LETTERS = {"hombre": "H", "mujer": "M", "no_binario": "X"}


def source_row(affiliate, **changes: str) -> dict[str, str]:
    """The institute's row for an affiliate already in the portal, with some values changed."""
    row = {
        "numero_afiliacion": affiliate.number,
        "curp": affiliate.curp,
        "rfc": affiliate.rfc,
        "nombre": affiliate.given_names,
        "primer_apellido": affiliate.first_surname,
        "segundo_apellido": affiliate.second_surname,
        "fecha_nacimiento": affiliate.birth_date.isoformat(),
        "sexo": SEX_LETTERS[affiliate.sex],
        "email": affiliate.email,
        "telefono": affiliate.phone,
        "estatus": affiliate.status,
        "clave_dependencia": affiliate.employer.code,
        "dependencia": affiliate.employer.name,
        "municipio": affiliate.municipality,
        "fecha_inicio_cotizacion": affiliate.contribution_start.isoformat(),
        "sueldo_base_quincenal": str(affiliate.base_salary),
        "neto_quincenal": str(affiliate.net_pay),
        "descuentos_quincenales": str(affiliate.current_deductions),
        "bloqueado": "0",
        "motivo_bloqueo": "",
    }
    row.update(changes)
    return row
