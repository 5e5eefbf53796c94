"""A sqlite3 database that imitates the institute's Oracle database, for the demo and the tests.

The base tables use the institute's own names (`derechohabiente`, `dependencia`, `prestamo`,
`num_afiliacion`, `apellido_paterno`...); the two views the portal is granted,
`v_portal_afiliados` and `v_portal_prestamos`, rename and join them into exactly the portal's
layout (the CSV header names in `affiliates.sources`). The sync reads them through the same
DB-API code it uses on Oracle, so this is not a mock but a second real database.

Values are stored the way a careless loader would: amounts in NUMERIC columns (SQLite hands them
back as int or float), dates as text. The sync has to cope with that, as it has to cope with
Oracle's NUMBER and DATE.
"""

import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from affiliates.sources import AFFILIATE_COLUMNS, AFFILIATE_OPTIONAL_COLUMNS, LOAN_COLUMNS

AFFILIATES_VIEW = "v_portal_afiliados"
LOANS_VIEW = "v_portal_prestamos"

SCHEMA = """
CREATE TABLE dependencia (
    id_dependencia INTEGER PRIMARY KEY,
    clave TEXT NOT NULL UNIQUE,
    nombre TEXT NOT NULL
);
-- A surrogate key, not the affiliate number: the institute's data may repeat a number, and the
-- sync must be the one that notices.
CREATE TABLE derechohabiente (
    id_derechohabiente INTEGER PRIMARY KEY,
    num_afiliacion TEXT,
    curp TEXT,
    rfc TEXT,
    nombres TEXT,
    apellido_paterno TEXT,
    apellido_materno TEXT,
    f_nacimiento TEXT,
    sexo TEXT,
    correo TEXT,
    telefono TEXT,
    situacion TEXT,
    id_dependencia INTEGER REFERENCES dependencia (id_dependencia),
    municipio TEXT,
    f_alta_cotizacion TEXT,
    sueldo_base NUMERIC,
    neto NUMERIC,
    descuentos NUMERIC,
    bloqueado INTEGER,
    motivo_bloqueo TEXT
);
CREATE INDEX derechohabiente_num ON derechohabiente (num_afiliacion);
CREATE TABLE prestamo (
    id_prestamo INTEGER PRIMARY KEY,
    num_afiliacion TEXT,
    producto TEXT,
    monto NUMERIC,
    saldo_insoluto NUMERIC,
    pagos_hechos INTEGER,
    plazo_quincenas INTEGER,
    descuento_quincenal NUMERIC
);
CREATE INDEX prestamo_num ON prestamo (num_afiliacion);

CREATE VIEW v_portal_afiliados AS
SELECT
    d.num_afiliacion AS numero_afiliacion,
    d.curp AS curp,
    d.rfc AS rfc,
    d.nombres AS nombre,
    d.apellido_paterno AS primer_apellido,
    d.apellido_materno AS segundo_apellido,
    d.f_nacimiento AS fecha_nacimiento,
    d.sexo AS sexo,
    d.correo AS email,
    d.telefono AS telefono,
    d.situacion AS estatus,
    p.clave AS clave_dependencia,
    p.nombre AS dependencia,
    d.municipio AS municipio,
    d.f_alta_cotizacion AS fecha_inicio_cotizacion,
    d.sueldo_base AS sueldo_base_quincenal,
    d.neto AS neto_quincenal,
    d.descuentos AS descuentos_quincenales,
    d.bloqueado AS bloqueado,
    d.motivo_bloqueo AS motivo_bloqueo
FROM derechohabiente d
JOIN dependencia p ON p.id_dependencia = d.id_dependencia
ORDER BY d.id_derechohabiente;

CREATE VIEW v_portal_prestamos AS
SELECT
    l.num_afiliacion AS numero_afiliacion,
    l.producto AS clave_producto,
    l.monto AS monto_original,
    l.saldo_insoluto AS saldo,
    l.pagos_hechos AS pagos_realizados,
    l.plazo_quincenas AS pagos_totales,
    l.descuento_quincenal AS pago_quincenal
FROM prestamo l
ORDER BY l.id_prestamo;
"""

_AFFILIATE_INSERT = (
    "INSERT INTO derechohabiente (num_afiliacion, curp, rfc, nombres, apellido_paterno, "
    "apellido_materno, f_nacimiento, sexo, correo, telefono, situacion, id_dependencia, "
    "municipio, f_alta_cotizacion, sueldo_base, neto, descuentos, bloqueado, motivo_bloqueo) "
    "VALUES (" + ", ".join("?" * 19) + ")"
)
_LOAN_INSERT = (
    "INSERT INTO prestamo (num_afiliacion, producto, monto, saldo_insoluto, pagos_hechos, "
    "plazo_quincenas, descuento_quincenal) VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _stored(value: Any) -> Any:
    """What sqlite3 accepts: it knows neither Decimal nor (since 3.12, without warning) date."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def _affiliate_records(
    rows: Iterable[Mapping[str, Any]], employers: dict[str, tuple[int, Any]]
) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        code = row.get("clave_dependencia")
        key = "" if code is None else str(code)
        # One employer per code; the first name seen for it is the one the view shows.
        if key not in employers:
            employers[key] = (len(employers) + 1, row.get("dependencia"))
        values = [_stored(row.get(column)) for column in AFFILIATE_COLUMNS]
        values[AFFILIATE_COLUMNS.index("clave_dependencia")] = employers[key][0]
        del values[AFFILIATE_COLUMNS.index("dependencia")]
        values.extend(_stored(row.get(column)) for column in AFFILIATE_OPTIONAL_COLUMNS)
        yield tuple(values)


def create_institute_database(
    path: Path | str,
    affiliate_rows: Iterable[Mapping[str, Any]],
    loan_rows: Iterable[Mapping[str, Any]] = (),
) -> Path:
    """Write a fresh institute database at `path` from rows keyed by the CSV header names.

    Rows may be generators (the benchmark streams 200,000 of them). Values may be text as in the
    CSV, or Decimal, date, int, bool; a missing key is a NULL. The file is built under a
    temporary name in the same folder and renamed into place, so a reader never sees half a
    database and an existing one is replaced whole.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary_name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    os.close(descriptor)
    temporary = Path(temporary_name)
    try:
        connection = sqlite3.connect(temporary)
        try:
            # A throw-away file until the rename: no journal needed while it is built.
            connection.execute("PRAGMA journal_mode = OFF")
            connection.execute("PRAGMA synchronous = OFF")
            connection.executescript(SCHEMA)
            employers: dict[str, tuple[int, Any]] = {}
            connection.executemany(_AFFILIATE_INSERT, _affiliate_records(affiliate_rows, employers))
            connection.executemany(
                "INSERT INTO dependencia (id_dependencia, clave, nombre) VALUES (?, ?, ?)",
                [(key, code, _stored(name) or "") for code, (key, name) in employers.items()],
            )
            connection.executemany(
                _LOAN_INSERT,
                (tuple(_stored(row.get(column)) for column in LOAN_COLUMNS) for row in loan_rows),
            )
            connection.commit()
        finally:
            connection.close()
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target
