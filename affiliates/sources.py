"""Where affiliate data comes from: the institute's database (any DB-API 2.0 driver) or CSV files.

Both kinds of source yield `SourceRow`s: the values of one record as strings keyed by the CSV
header names, with the record's 1-based row number. Whatever the driver returns (str, date,
datetime, Decimal, int, or the float SQLite keeps for a NUMERIC column) is turned into the text
the CSV layout uses, so `affiliates.sync` validates a single shape and tells the operator which
row of which file or query was wrong.

In production the database is Oracle, reached with `oracledb`; the tests and the demo run the
very same code on a sqlite3 file that holds views of the same shape (`demo.institute`).
Every failure to reach or read the source becomes `SourceUnavailable`, so callers can fall back
to the last known data instead of showing a traceback.
"""

import csv
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypeVar
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from affiliates.models import DataSource

# The layout shared by the CSV files and the institute's views, in the documented order.
AFFILIATE_COLUMNS = (
    "numero_afiliacion",
    "curp",
    "rfc",
    "nombre",
    "primer_apellido",
    "segundo_apellido",
    "fecha_nacimiento",
    "sexo",
    "email",
    "telefono",
    "estatus",
    "clave_dependencia",
    "dependencia",
    "municipio",
    "fecha_inicio_cotizacion",
    "sueldo_base_quincenal",
    "neto_quincenal",
    "descuentos_quincenales",
)
# Accepted when present; an affiliate is not blocked when the source does not say otherwise.
AFFILIATE_OPTIONAL_COLUMNS = ("bloqueado", "motivo_bloqueo")
LOAN_COLUMNS = (
    "numero_afiliacion",
    "clave_producto",
    "monto_original",
    "saldo",
    "pagos_realizados",
    "pagos_totales",
    "pago_quincenal",
)

# Rows per round trip: 200,000 affiliates in 40 round trips, never all of them in memory.
FETCH_SIZE = 5000

T = TypeVar("T")


class SourceUnavailable(Exception):
    """The source could not be reached or read; the message is Spanish and fit for an operator."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _("No pudimos consultar la base de datos del Instituto."))

    @property
    def message(self) -> str:
        return str(self.args[0])


class SourceLayoutError(SourceUnavailable):
    """The source answers, but its columns are not the agreed layout: nothing can be read."""


class SourceRow(NamedTuple):
    # CSV: line of the file where the record starts (the header is line 1). Database: ordinal.
    number: int
    # Column name -> text, stripped of nothing: normalising is the sync's job.
    values: dict[str, str]
    # They differ only for a CSV line with missing or extra fields; `values` is then empty.
    columns_found: int
    columns_expected: int


class AffiliateSource(Protocol):
    """What `affiliates.sync.affiliates_sync` reads from."""

    origin: str

    def affiliate_rows(self) -> Iterator[SourceRow]: ...

    def loan_rows(self) -> Iterator[SourceRow] | None:
        """The loans of every affiliate, or None when this source does not report loans."""


def check_columns(
    columns: Sequence[str], *, required: Sequence[str], optional: Sequence[str], where: str
) -> None:
    """Raise SourceLayoutError unless `columns` holds every required column and nothing unknown.

    `where` completes "Las columnas ...": "del archivo X", "de la consulta de afiliados".

    Unknown columns are refused rather than ignored: a misspelt "bloqueado" silently dropped
    would unblock every affiliate the institute blocked.
    """
    missing = [name for name in required if name not in columns]
    unknown = [name for name in columns if name not in required and name not in optional]
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    problems = []
    if missing:
        problems.append(_("faltan %(columns)s") % {"columns": ", ".join(missing)})
    if unknown:
        problems.append(
            _("no se reconocen %(columns)s") % {"columns": ", ".join(repr(n) for n in unknown)}
        )
    if repeated:
        problems.append(_("se repiten %(columns)s") % {"columns": ", ".join(repeated)})
    if problems:
        raise SourceLayoutError(
            _("Las columnas %(where)s no son las esperadas: %(problems)s.")
            % {"where": where, "problems": "; ".join(problems)}
        )


# --- CSV -------------------------------------------------------------------------------------


def _file_error(path: Path, error: OSError) -> SourceUnavailable:
    if isinstance(error, FileNotFoundError):
        detail = _("no existe")
    elif isinstance(error, IsADirectoryError):
        detail = _("es una carpeta, no un archivo")
    elif isinstance(error, PermissionError):
        detail = _("no hay permiso para leerlo")
    else:
        detail = error.strerror or str(error)
    return SourceUnavailable(
        _("No se pudo leer el archivo %(path)s: %(detail)s.") % {"path": path, "detail": detail}
    )


def _check_utf8(path: Path) -> None:
    """Refuse a file that is not UTF-8 before a single row is written, naming the line.

    Checked line by line in binary: a UTF-8 sequence never contains a newline byte, so splitting
    there is safe, and the whole file is never held in memory.
    """
    try:
        with path.open("rb") as handle:
            for line_number, line in enumerate(handle, start=1):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise SourceUnavailable(
                        _(
                            "El archivo %(path)s no está codificado en UTF-8 (línea %(line)d, "
                            "columna %(column)d). Guárdelo como «CSV UTF-8» e intente de nuevo."
                        )
                        % {
                            "path": path,
                            "line": line_number,
                            # Characters, not bytes: what an editor shows as the column.
                            "column": len(line[: error.start].decode("utf-8")) + 1,
                        }
                    ) from None
    except OSError as error:
        raise _file_error(path, error) from error


def _read_csv_header(
    path: Path, *, required: Sequence[str], optional: Sequence[str]
) -> tuple[str, ...]:
    _check_utf8(path)
    try:
        # utf-8-sig: Excel's "CSV UTF-8" starts with a byte order mark.
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), None)
    except OSError as error:
        raise _file_error(path, error) from error
    except csv.Error as error:
        raise SourceLayoutError(
            _("No se pudo leer el encabezado del archivo %(path)s: %(error)s.")
            % {"path": path, "error": error}
        ) from None
    if not header:
        raise SourceLayoutError(_("El archivo %(path)s está vacío.") % {"path": path})
    columns = tuple(name.strip().lower() for name in header)
    if len(columns) == 1 and ";" in columns[0]:
        raise SourceLayoutError(
            _(
                "El archivo %(path)s parece separado por punto y coma; se esperan comas "
                "(guárdelo como «CSV UTF-8 (delimitado por comas)»)."
            )
            % {"path": path}
        )
    check_columns(
        columns,
        required=required,
        optional=optional,
        where=_("del archivo %(path)s") % {"path": path},
    )
    return columns


def _csv_rows(path: Path, columns: tuple[str, ...]) -> Iterator[SourceRow]:
    expected = len(columns)
    start = 1
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            next(reader, None)  # the header, already checked
            # A quoted field may span lines: a record is numbered by the line it starts on.
            start = reader.line_num + 1
            for fields in reader:
                number, start = start, reader.line_num + 1
                # Blank lines and the rows of bare commas spreadsheets leave at the end.
                if not any(field.strip() for field in fields):
                    continue
                if len(fields) != expected:
                    yield SourceRow(number, {}, len(fields), expected)
                    continue
                yield SourceRow(number, dict(zip(columns, fields, strict=True)), expected, expected)
    except OSError as error:
        raise _file_error(path, error) from error
    except csv.Error as error:
        raise SourceUnavailable(
            _("El archivo %(path)s no es un CSV válido cerca de la línea %(line)d: %(error)s.")
            % {"path": path, "line": start, "error": error}
        ) from None


class CsvSource:
    """The affiliates file and, optionally, the loans file, in the documented CSV layout.

    Both files are checked (readable, UTF-8, header) when the source is built, so a bad file is
    refused before anything is written.
    """

    origin = DataSource.CSV

    def __init__(self, *, affiliates_path: Path | str, loans_path: Path | str | None = None):
        self.affiliates_path = Path(affiliates_path)
        self.loans_path = Path(loans_path) if loans_path is not None else None
        self._affiliate_columns = _read_csv_header(
            self.affiliates_path, required=AFFILIATE_COLUMNS, optional=AFFILIATE_OPTIONAL_COLUMNS
        )
        self._loan_columns = (
            _read_csv_header(self.loans_path, required=LOAN_COLUMNS, optional=())
            if self.loans_path is not None
            else None
        )

    def affiliate_rows(self) -> Iterator[SourceRow]:
        return _csv_rows(self.affiliates_path, self._affiliate_columns)

    def loan_rows(self) -> Iterator[SourceRow] | None:
        if self.loans_path is None or self._loan_columns is None:
            return None
        return _csv_rows(self.loans_path, self._loan_columns)


# --- DB-API 2.0 ------------------------------------------------------------------------------


def _as_text(value: Any) -> str:
    """The CSV spelling of a value as a driver returns it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    # Oracle's DATE is a datetime at midnight; datetime is a date subclass, so it goes first.
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # SQLite keeps 7800.10 as the double 7800.1; repr is the shortest text that reads back
        # as the same double, so no binary noise such as 7800.1000000000004 reaches Decimal.
        return repr(value)
    return str(value)


def _driver_call(function: Callable[..., T], *args: Any) -> T:
    """Call the driver; whatever it raises (refused connection, missing view, timeout) means
    the source is unavailable. Only driver calls go through here, so our own bugs still show."""
    try:
        return function(*args)
    except Exception as error:
        raise SourceUnavailable(
            _("No pudimos consultar la base de datos del Instituto: %(error)s") % {"error": error}
        ) from error


def _one_affiliate_sql(sql: str) -> str:
    # Named parameters work on both oracledb and sqlite3; the configured query stays untouched.
    return f"SELECT * FROM ({sql.strip().rstrip(';')}) sub WHERE numero_afiliacion = :numero"  # noqa: S608


class DatabaseSource:
    """The institute's views through any DB-API 2.0 connection.

    `connect` returns a new connection (e.g. `lambda: sqlite3.connect(path)`); every query runs
    on its own connection, closed when its rows are exhausted or abandoned.
    """

    origin = DataSource.DATABASE

    def __init__(
        self,
        *,
        connect: Callable[[], Any],
        affiliates_sql: str,
        loans_sql: str | None,
        fetch_size: int = FETCH_SIZE,
    ) -> None:
        self._connect = connect
        self.affiliates_sql = affiliates_sql
        self.loans_sql = loans_sql or None
        self.fetch_size = fetch_size

    def affiliate_rows(self) -> Iterator[SourceRow]:
        return self._rows_on_new_connection(self.affiliates_sql, None, loans=False)

    def loan_rows(self) -> Iterator[SourceRow] | None:
        if self.loans_sql is None:
            return None
        return self._rows_on_new_connection(self.loans_sql, None, loans=True)

    def fetch_affiliate(self, *, number: str) -> tuple[list[SourceRow], list[SourceRow] | None]:
        """The source rows of one affiliate (normally one) and their loans, on one connection.

        Loans are None when no loans query is configured. Raises SourceUnavailable.
        """
        params = {"numero": number}
        connection = _driver_call(self._connect)
        try:
            rows = list(self._query(connection, _one_affiliate_sql(self.affiliates_sql), params))
            loans = (
                list(
                    self._query(connection, _one_affiliate_sql(self.loans_sql), params, loans=True)
                )
                if self.loans_sql is not None
                else None
            )
        finally:
            with suppress(Exception):
                connection.close()
        return rows, loans

    def _rows_on_new_connection(
        self, sql: str, params: dict[str, str] | None, *, loans: bool
    ) -> Iterator[SourceRow]:
        connection = _driver_call(self._connect)
        try:
            yield from self._query(connection, sql, params, loans=loans)
        finally:
            with suppress(Exception):
                connection.close()

    def _query(
        self, connection: Any, sql: str, params: dict[str, str] | None, *, loans: bool = False
    ) -> Iterator[SourceRow]:
        cursor = _driver_call(connection.cursor)
        try:
            cursor.arraysize = self.fetch_size
            if params is None:
                _driver_call(cursor.execute, sql)
            else:
                _driver_call(cursor.execute, sql, params)
            # Oracle answers unquoted identifiers in upper case.
            columns = tuple(str(column[0]).lower() for column in cursor.description or ())
            check_columns(
                columns,
                required=LOAN_COLUMNS if loans else AFFILIATE_COLUMNS,
                optional=() if loans else AFFILIATE_OPTIONAL_COLUMNS,
                where=_("de la consulta de préstamos")
                if loans
                else _("de la consulta de afiliados"),
            )
            width = len(columns)
            ordinal = 0
            while True:
                # Streaming: fetchall of 200,000 rows would hold them all at once.
                records = _driver_call(cursor.fetchmany, self.fetch_size)
                if not records:
                    break
                for record in records:
                    ordinal += 1
                    values = {
                        column: _as_text(value)
                        for column, value in zip(columns, record, strict=True)
                    }
                    yield SourceRow(ordinal, values, width, width)
        finally:
            with suppress(Exception):
                cursor.close()


def _oracle_connector(config: dict[str, Any], timeout: float) -> Callable[[], Any]:
    def connect() -> Any:
        # Imported here: the portal must start (and its tests run) without an Oracle client.
        import oracledb

        def numbers_as_decimal(cursor: Any, metadata: Any) -> Any:
            # Money must not pass through float: NUMBER columns come back as Decimal.
            if metadata.type_code is oracledb.DB_TYPE_NUMBER:
                return cursor.var(Decimal, arraysize=cursor.arraysize)
            return None

        connection = oracledb.connect(
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            dsn=config["DSN"],
            tcp_connect_timeout=timeout,
        )
        # Per round trip, in milliseconds: a hung query fails instead of holding a request.
        connection.call_timeout = int(timeout * 1000)
        connection.outputtypehandler = numbers_as_decimal
        return connection

    return connect


def _sqlite_connector(config: dict[str, Any], timeout: float) -> Callable[[], Any]:
    # Read-only URI: a wrong path must fail, not create an empty database that "has no rows".
    path = Path(config["DSN"]).resolve()
    uri = f"file:{quote(str(path))}?mode=ro"

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, timeout=timeout)

    return connect


def source_from_settings(*, timeout: float | None = None) -> DatabaseSource:
    """The institute's database as `settings.AFFILIATES_SOURCE` describes it.

    `timeout` (seconds) defaults to the configured TIMEOUT, meant for a person waiting on a
    page; a full sync may pass a longer one.
    """
    config = settings.AFFILIATES_SOURCE
    seconds = float(config.get("TIMEOUT", 5) if timeout is None else timeout)
    driver = config.get("DRIVER", "")
    if driver == "oracledb":
        connect = _oracle_connector(config, seconds)
    elif driver == "sqlite3":
        connect = _sqlite_connector(config, seconds)
    else:
        raise ImproperlyConfigured(
            f"AFFILIATES_SOURCE['DRIVER'] must be 'oracledb' or 'sqlite3', not {driver!r}."
        )
    return DatabaseSource(
        connect=connect,
        affiliates_sql=config["AFFILIATES_SQL"],
        loans_sql=config.get("LOANS_SQL") or None,
    )
