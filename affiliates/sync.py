"""Synchronisation of the affiliate read model from the institute's source.

A source (`affiliates.sources`) yields rows; each row is validated and normalised into an
`AffiliateRecord` or rejected with a specific Spanish reason and its row number. A bad row never
stops the rest. Accepted records are written in batches, each in its own transaction:

- new affiliate numbers are inserted;
- rows whose SHA-256 digest differs from the stored `source_digest` are updated;
  (both with one prepared statement and `executemany`, see `_Statement` for why not
  bulk_create/bulk_update);
- rows with the same digest are left as they are, except `synced_at` (and `source`), which one
  cheap UPDATE per batch moves forward: the portal shows "datos al <synced_at>", and a sync that
  read the row again has confirmed the data is current. They count as unchanged, so running the
  same sync twice reports created=0, updated=0 the second time.

Loans: when the source reports loans (the loans query, or `--loans-csv`), they are read first and
grouped per affiliate; an affiliate's loans are replaced only when the digest of its loan rows
differs from `Affiliate.loans_digest`, and an affiliate of the affiliates source with no loan
rows ends with no loans. An affiliate whose loans changed counts as updated. If any loan row of
an affiliate is rejected, that affiliate's loans are left as they were (a partial list would
understate their debt) and its other loan rows are reported as not applied. Without a loans
source, loans are not touched.

`SyncResult` keeps the affiliate and the loan rejections apart (`rejected`, `loans_rejected`);
`SyncResult.as_json()` merges them into the one `rejected` list of the command's JSON contract,
the loan ones with the reason prefixed "préstamos: ".
"""

import hashlib
import logging
import re
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import (
    DEFAULT_DB_ALIAS,
    DataError,
    IntegrityError,
    connection,
    connections,
    transaction,
)
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from affiliates.identifiers import validate_curp, validate_rfc
from affiliates.models import Affiliate, AffiliateLoan, AffiliateStatus, Employer, Sex
from affiliates.sources import (
    AffiliateSource,
    SourceRow,
    SourceUnavailable,
    source_from_settings,
)

logger = logging.getLogger(__name__)

# Rows per transaction: large enough for bulk statements to pay off, small enough that a
# failed batch retried row by row stays cheap.
BATCH_SIZE = 2000
MEXICO_CITY = ZoneInfo("America/Mexico_City")
CENT = Decimal("0.01")
# max_digits=12, decimal_places=2 in the model.
AMOUNT_LIMIT = Decimal("10000000000")
POSITIVE_INTEGER_LIMIT = 2147483647

AFFILIATE_NUMBER = re.compile(r"[A-Z0-9-]{1,20}")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
AMOUNT = re.compile(r"-?\d+(?:\.\d+)?")
INTEGER = re.compile(r"-?\d+(?:\.0+)?")
PHONE = re.compile(r"\+?\d{7,15}")
PHONE_SEPARATORS = str.maketrans("", "", " -().")

SEXES = {
    "H": Sex.MALE,
    "M": Sex.FEMALE,
    "X": Sex.NON_BINARY,
    "HOMBRE": Sex.MALE,
    "MUJER": Sex.FEMALE,
    "NO_BINARIO": Sex.NON_BINARY,
    "NO BINARIO": Sex.NON_BINARY,
}
STATUSES = frozenset(AffiliateStatus.values)
BLOCKED_WORDS = {"1": True, "SI": True, "SÍ": True, "0": False, "NO": False, "": False}

T = TypeVar("T")


# --- Records -----------------------------------------------------------------------------------


class RowRejected(Exception):
    """A source row that cannot be loaded; the message is the Spanish reason."""


@dataclass(frozen=True, slots=True)
class Rejection:
    row: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "reason": self.reason}


# Not frozen: a frozen dataclass pays a object.__setattr__ per field, 200,000 times over.
@dataclass(slots=True)
class AffiliateRecord:
    """One affiliate as the source reports it, validated and normalised."""

    row: int
    number: str
    curp: str
    rfc: str
    given_names: str
    first_surname: str
    second_surname: str
    birth_date: date
    sex: str
    email: str
    phone: str
    status: str
    employer_code: str
    employer_name: str
    municipality: str
    contribution_start: date
    base_salary: Decimal
    net_pay: Decimal
    current_deductions: Decimal
    is_blocked: bool
    blocked_reason: str

    def model_values(self) -> list[Any]:
        """Values of AFFILIATE_FIELDS, in that order."""
        return [getattr(self, name) for name in AFFILIATE_FIELDS]

    def digest(self) -> str:
        # The employer's name is left out: it belongs to Employer, and a renamed dependencia
        # must not count as thousands of changed affiliates.
        canonical = "\x1f".join(map(str, [self.number, self.employer_code, *self.model_values()]))
        return hashlib.sha256(canonical.encode()).hexdigest()


# The Affiliate fields a record fills, in digest order (changing it changes every digest once).
AFFILIATE_FIELDS = (
    "curp",
    "rfc",
    "given_names",
    "first_surname",
    "second_surname",
    "birth_date",
    "sex",
    "email",
    "phone",
    "status",
    "municipality",
    "contribution_start",
    "base_salary",
    "net_pay",
    "current_deductions",
    "is_blocked",
    "blocked_reason",
)
# What a write sets besides the number (which identifies the row and never changes).
WRITTEN_FIELDS = (
    *AFFILIATE_FIELDS,
    "employer",
    "source",
    "synced_at",
    "source_digest",
    "loans_digest",
)


@dataclass(slots=True)
class LoanRecord:
    row: int
    number: str
    product_code: str
    original_amount: Decimal
    balance: Decimal
    installments_paid: int
    installments_total: int
    quincenal_payment: Decimal

    def canonical(self) -> str:
        return "\x1f".join(
            map(
                str,
                (
                    self.product_code,
                    self.original_amount,
                    self.balance,
                    self.installments_paid,
                    self.installments_total,
                    self.quincenal_payment,
                ),
            )
        )


def loans_digest(loans: Sequence[LoanRecord]) -> str:
    """Digest of an affiliate's loans, independent of their order in the source.

    An empty list has a digest too (not ""): "the source says no loans" differs from "loans
    never synced", and loans left by other means are then removed.
    """
    canonical = "\x1e".join(sorted(loan.canonical() for loan in loans))
    return hashlib.sha256(("loans\x1e" + canonical).encode()).hexdigest()


# --- Validation --------------------------------------------------------------------------------


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def _text(
    values: dict[str, str],
    column: str,
    problems: list[str],
    *,
    label: str,
    max_length: int,
    missing: str | None = None,
) -> str:
    """A text value with spaces collapsed; `missing` is the reason when it is required.

    `label` and `missing` arrive untranslated (gettext_noop) and are translated only when a
    problem is reported: gettext on every field of 200,000 rows was most of the sync's time.
    """
    text = _clean(values.get(column))
    if not text and missing is not None:
        problems.append(_(missing))
    elif len(text) > max_length:
        problems.append(
            _("%(label)s: demasiados caracteres (máximo %(max)d)")
            % {"label": _(label), "max": max_length}
        )
    return text


def _date(raw: str | None, problems: list[str], *, missing: str, invalid: str) -> date | None:
    text = _clean(raw)
    if not text:
        problems.append(_(missing))
        return None
    # fromisoformat alone would also take 19750615 or 1975-W24-7.
    if ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    problems.append(_(invalid) % {"value": text})
    return None


def _amount(values: dict[str, str], column: str, problems: list[str]) -> Decimal | None:
    text = _clean(values.get(column))
    if not text:
        problems.append(_("falta el monto en %(column)s") % {"column": column})
        return None
    if not AMOUNT.fullmatch(text):
        problems.append(
            _(
                "monto inválido en %(column)s: '%(value)s' (se espera un número con punto "
                "decimal, p. ej. 9500.00)"
            )
            % {"column": column, "value": text}
        )
        return None
    amount = Decimal(text)
    if amount < 0:
        problems.append(_("monto negativo en %(column)s") % {"column": column})
        return None
    if amount != amount.quantize(CENT):
        problems.append(
            _("monto con más de dos decimales en %(column)s: '%(value)s'")
            % {"column": column, "value": text}
        )
        return None
    if amount >= AMOUNT_LIMIT:
        problems.append(
            _("monto demasiado grande en %(column)s: '%(value)s'")
            % {"column": column, "value": text}
        )
        return None
    return amount.quantize(CENT)


def _count(values: dict[str, str], column: str, problems: list[str]) -> int | None:
    text = _clean(values.get(column))
    if not text:
        problems.append(_("falta %(column)s") % {"column": column})
        return None
    if not INTEGER.fullmatch(text):
        problems.append(
            _("%(column)s inválido: '%(value)s' (se espera un número entero)")
            % {"column": column, "value": text}
        )
        return None
    number = int(Decimal(text))
    if number < 0:
        problems.append(_("%(column)s negativo: %(value)s") % {"column": column, "value": text})
        return None
    if number > POSITIVE_INTEGER_LIMIT:
        problems.append(
            _("%(column)s demasiado grande: %(value)s") % {"column": column, "value": text}
        )
        return None
    return number


def _affiliate_number(raw: str | None, problems: list[str]) -> str:
    number = _clean(raw).upper()
    if not number:
        problems.append(_("falta el número de afiliación"))
    elif not AFFILIATE_NUMBER.fullmatch(number):
        problems.append(
            _(
                "número de afiliación inválido: '%(value)s' (se esperan letras, dígitos o "
                "guiones, hasta 20 caracteres)"
            )
            % {"value": number}
        )
    return number


def _curp(raw: str | None, problems: list[str]) -> str:
    text = _clean(raw)
    if not text:
        problems.append(_("falta la CURP"))
        return ""
    try:
        return validate_curp(text)
    except ValidationError as error:
        problems.append(_identifier_problem("CURP", error, text))
        return ""


def _rfc(raw: str | None, problems: list[str]) -> str:
    text = _clean(raw)
    if not text:
        problems.append(_("falta el RFC"))
        return ""
    try:
        return validate_rfc(text)
    except ValidationError as error:
        problems.append(_identifier_problem("RFC", error, text))
        return ""


def _identifier_problem(kind: str, error: ValidationError, value: str) -> str:
    if error.code and error.code.endswith("_checksum"):
        detail = _("su dígito verificador no corresponde")
    elif error.code == "curp_length":
        detail = _("debe tener 18 caracteres")
    elif error.code == "rfc_length":
        detail = _("debe tener 13 caracteres (persona física, con homoclave)")
    elif kind == "CURP":
        detail = _("no tiene el formato de una CURP")
    else:
        detail = _("no tiene el formato de un RFC")
    if kind == "CURP":
        return _("CURP inválida: %(detail)s ('%(value)s')") % {"detail": detail, "value": value}
    return _("RFC inválido: %(detail)s ('%(value)s')") % {"detail": detail, "value": value}


def _width_problem(row: SourceRow) -> str:
    return _("la fila tiene %(found)d columnas y el encabezado %(expected)d") % {
        "found": row.columns_found,
        "expected": row.columns_expected,
    }


def affiliate_record_from_row(row: SourceRow, *, today: date | None = None) -> AffiliateRecord:
    """Validate and normalise one affiliate row; raise RowRejected with every problem found.

    `today` (in Mexico City) bounds the birth date; a sync passes it once for all its rows.
    """
    if row.columns_found != row.columns_expected:
        raise RowRejected(_width_problem(row))
    values = row.values
    problems: list[str] = []

    number = _affiliate_number(values.get("numero_afiliacion"), problems)
    curp = _curp(values.get("curp"), problems)
    rfc = _rfc(values.get("rfc"), problems)
    given_names = _text(
        values,
        "nombre",
        problems,
        missing=gettext_noop("falta el nombre"),
        label=gettext_noop("nombre"),
        max_length=120,
    )
    first_surname = _text(
        values,
        "primer_apellido",
        problems,
        missing=gettext_noop("falta el primer apellido"),
        label=gettext_noop("primer apellido"),
        max_length=120,
    )
    second_surname = _text(
        values,
        "segundo_apellido",
        problems,
        missing=None,
        label=gettext_noop("segundo apellido"),
        max_length=120,
    )
    if today is None:
        today = timezone.localdate(timezone=MEXICO_CITY)
    birth_date = _date(
        values.get("fecha_nacimiento"),
        problems,
        missing=gettext_noop("falta la fecha de nacimiento"),
        invalid=gettext_noop("fecha de nacimiento inválida: '%(value)s' (se espera AAAA-MM-DD)"),
    )
    if birth_date is not None and not date(1900, 1, 1) <= birth_date <= today:
        problems.append(
            _("fecha de nacimiento fuera de rango: '%(value)s'") % {"value": birth_date}
        )
        birth_date = None

    sex_text = _clean(values.get("sexo")).upper()
    sex = SEXES.get(sex_text, "")
    if not sex_text:
        problems.append(_("falta el sexo"))
    elif not sex:
        problems.append(
            _("sexo desconocido: '%(value)s' (se espera H, M o X)") % {"value": sex_text}
        )

    email = _clean(values.get("email"))
    if email:
        try:
            # EmailField's column holds 254 characters; the validator alone allows more.
            if len(email) > 254:
                raise ValidationError("too long")
            validate_email(email)
        except ValidationError:
            problems.append(_("correo electrónico inválido: '%(value)s'") % {"value": email})

    phone = _clean(values.get("telefono")).translate(PHONE_SEPARATORS)
    if phone and not PHONE.fullmatch(phone):
        problems.append(
            _("teléfono inválido: '%(value)s' (se esperan de 7 a 15 dígitos)")
            % {"value": _clean(values.get("telefono"))}
        )

    status = _clean(values.get("estatus")).lower()
    if not status:
        problems.append(_("falta el estatus"))
    elif status not in STATUSES:
        problems.append(
            _("estatus desconocido: '%(value)s' (se espera activo, pensionado, jubilado o baja)")
            % {"value": status}
        )

    employer_code = _text(
        values,
        "clave_dependencia",
        problems,
        missing=gettext_noop("falta la clave de la dependencia"),
        label=gettext_noop("clave de la dependencia"),
        max_length=20,
    ).upper()
    employer_name = _text(
        values,
        "dependencia",
        problems,
        missing=gettext_noop("falta el nombre de la dependencia"),
        label=gettext_noop("nombre de la dependencia"),
        max_length=200,
    )
    municipality = _text(
        values,
        "municipio",
        problems,
        missing=gettext_noop("falta el municipio"),
        label=gettext_noop("municipio"),
        max_length=120,
    )
    contribution_start = _date(
        values.get("fecha_inicio_cotizacion"),
        problems,
        missing=gettext_noop("falta la fecha de inicio de cotización"),
        invalid=gettext_noop(
            "fecha de inicio de cotización inválida: '%(value)s' (se espera AAAA-MM-DD)"
        ),
    )
    if (
        contribution_start is not None
        and birth_date is not None
        and contribution_start <= birth_date
    ):
        problems.append(
            _("la fecha de inicio de cotización (%(start)s) no es posterior a la de nacimiento")
            % {"start": contribution_start}
        )

    base_salary = _amount(values, "sueldo_base_quincenal", problems)
    net_pay = _amount(values, "neto_quincenal", problems)
    current_deductions = _amount(values, "descuentos_quincenales", problems)

    blocked_text = _clean(values.get("bloqueado")).upper()
    is_blocked = BLOCKED_WORDS.get(blocked_text)
    if is_blocked is None:
        problems.append(
            _("valor de bloqueado inválido: '%(value)s' (se espera 0, 1, si o no)")
            % {"value": _clean(values.get("bloqueado"))}
        )
    blocked_reason = _text(
        values,
        "motivo_bloqueo",
        problems,
        missing=None,
        label=gettext_noop("motivo del bloqueo"),
        max_length=300,
    )

    if problems:
        raise RowRejected("; ".join(problems))
    return AffiliateRecord(
        row=row.number,
        number=number,
        curp=curp,
        rfc=rfc,
        given_names=given_names,
        first_surname=first_surname,
        second_surname=second_surname,
        birth_date=birth_date,  # type: ignore[arg-type]  # not None when no problems
        sex=str(sex),
        email=email,
        phone=phone,
        status=status,
        employer_code=employer_code,
        employer_name=employer_name,
        municipality=municipality,
        contribution_start=contribution_start,  # type: ignore[arg-type]
        base_salary=base_salary,  # type: ignore[arg-type]
        net_pay=net_pay,  # type: ignore[arg-type]
        current_deductions=current_deductions,  # type: ignore[arg-type]
        is_blocked=bool(is_blocked),
        # A reason without the flag would be shown nowhere and only make digests differ.
        blocked_reason=blocked_reason if is_blocked else "",
    )


def loan_record_from_row(row: SourceRow) -> LoanRecord:
    """Validate and normalise one loan row; raise RowRejected with every problem found."""
    if row.columns_found != row.columns_expected:
        raise RowRejected(_width_problem(row))
    values = row.values
    problems: list[str] = []
    number = _affiliate_number(values.get("numero_afiliacion"), problems)
    product_code = _text(
        values,
        "clave_producto",
        problems,
        missing=gettext_noop("falta la clave del producto"),
        label=gettext_noop("clave del producto"),
        max_length=20,
    ).upper()
    original_amount = _amount(values, "monto_original", problems)
    balance = _amount(values, "saldo", problems)
    installments_paid = _count(values, "pagos_realizados", problems)
    installments_total = _count(values, "pagos_totales", problems)
    quincenal_payment = _amount(values, "pago_quincenal", problems)
    if installments_total == 0:
        problems.append(_("pagos_totales debe ser mayor que cero"))
    elif (
        installments_paid is not None
        and installments_total is not None
        and installments_paid > installments_total
    ):
        problems.append(
            _("los pagos realizados (%(paid)d) superan los pagos totales (%(total)d)")
            % {"paid": installments_paid, "total": installments_total}
        )
    if problems:
        raise RowRejected("; ".join(problems))
    return LoanRecord(
        row=row.number,
        number=number,
        product_code=product_code,
        original_amount=original_amount,  # type: ignore[arg-type]  # not None when no problems
        balance=balance,  # type: ignore[arg-type]
        installments_paid=installments_paid,  # type: ignore[arg-type]
        installments_total=installments_total,  # type: ignore[arg-type]
        quincenal_payment=quincenal_payment,  # type: ignore[arg-type]
    )


# --- Results -----------------------------------------------------------------------------------


@dataclass
class SyncResult:
    """Counts of affiliates and the rows not applied.

    `rejected` are rows of the affiliates source, `loans_rejected` rows of the loans source,
    each numbered in its own file or query. `loans_replaced` counts affiliates whose loans were
    rewritten; `synced_at` is the time written on every affiliate the sync read.
    """

    synced_at: datetime
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    loans_rejected: list[Rejection] = field(default_factory=list)
    loans_replaced: int = 0
    rows_read: int = 0

    def as_json(self) -> dict[str, Any]:
        """The command's JSON contract: loan rejections join the list, prefixed "préstamos: "."""
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": [rejection.as_dict() for rejection in self.rejected]
            + [
                {"row": rejection.row, "reason": _("préstamos: %(reason)s") % rejection.as_dict()}
                for rejection in self.loans_rejected
            ],
        }


@dataclass
class _AffiliateLoans:
    records: list[LoanRecord] = field(default_factory=list)
    # Rows of this affiliate's loans; when any was rejected, its loans are not touched.
    rows: list[int] = field(default_factory=list)
    broken_row: int | None = None


# What an affiliate absent from the loans source has: no loans (read only, shared).
_NO_LOANS = _AffiliateLoans()


@dataclass
class _BatchOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    loans_replaced: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    # Numbers of records the database side refused (CURP held by another affiliate).
    refused: set[str] = field(default_factory=set)

    def add(self, other: "_BatchOutcome") -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.loans_replaced += other.loans_replaced
        self.rejected.extend(other.rejected)
        self.refused |= other.refused


# --- Writing -----------------------------------------------------------------------------------


def _chunks(items: Sequence[T]) -> Iterator[Sequence[T]]:
    # SQLite refuses more than 999 parameters per statement (Django's conservative figure).
    size = min(connection.features.max_query_params or 900, 900)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _employer_ids(records: Sequence[AffiliateRecord]) -> dict[str, int]:
    """Upsert the dependencias these records name; code -> id."""
    names: dict[str, str] = {}
    for record in records:
        names.setdefault(record.employer_code, record.employer_name)
    existing: dict[str, Employer] = {}
    for chunk in _chunks(list(names)):
        existing.update((e.code, e) for e in Employer.objects.filter(code__in=chunk))
    renamed = []
    for code, employer in existing.items():
        if employer.name != names[code]:
            employer.name = names[code]
            renamed.append(employer)
    if renamed:
        Employer.objects.bulk_update(renamed, ["name"])
    new = [Employer(code=code, name=name) for code, name in names.items() if code not in existing]
    if new:
        Employer.objects.bulk_create(new)
        if any(employer.pk is None for employer in new):
            for chunk in _chunks([employer.code for employer in new]):
                existing.update((e.code, e) for e in Employer.objects.filter(code__in=chunk))
        else:
            existing.update((employer.code, employer) for employer in new)
    return {code: employer.pk for code, employer in existing.items()}


# Text and integer values go to every backend's driver as they are.
_PASS_THROUGH_TYPES = {"CharField", "EmailField", "ForeignKey", "PositiveIntegerField"}


def _adapter(field: Any, database: Any) -> Callable[[Any], Any] | None:
    """How a value of `field` goes to the driver: the backend's own adapters, called directly
    because our values are already of the right Python type (Field.get_db_prep_save would
    convert each Decimal again)."""
    kind = field.get_internal_type()
    if kind in _PASS_THROUGH_TYPES:
        return None
    if kind == "DecimalField":
        return partial(
            database.ops.adapt_decimalfield_value,
            max_digits=field.max_digits,
            decimal_places=field.decimal_places,
        )
    if kind == "DateField":
        return database.ops.adapt_datefield_value
    if kind == "DateTimeField":
        return database.ops.adapt_datetimefield_value
    return partial(field.get_db_prep_save, connection=database)


class _Statement:
    """One INSERT or UPDATE over a model's fields, run with `executemany`.

    Why not bulk_create/bulk_update: Django's SQLite backend allows 999 parameters per
    statement, so bulk_create sends 43 affiliates per INSERT and prepares every value through
    the query compiler, and bulk_update builds a CASE expression per field and row. That was
    three quarters of the time of a 200,000-row sync (bench/README.md). One prepared statement
    run with executemany is what every driver (sqlite3, psycopg, oracledb) does best.
    """

    def __init__(self, model: type[Affiliate] | type[AffiliateLoan], fields: Sequence[str]):
        meta = model._meta
        # The real connection, not the proxy: its attributes are read for every value.
        self.database = connections[DEFAULT_DB_ALIAS]
        self.fields = [meta.get_field(name) for name in fields]
        self.adapters = [_adapter(field, self.database) for field in self.fields]
        quote = self.database.ops.quote_name
        self.table = quote(meta.db_table)
        self.columns = [quote(field.column) for field in self.fields]
        self.pk_column = quote(meta.pk.column)

    def _adapted(self, values: Sequence[Any]) -> list[Any]:
        return [
            value if adapter is None else adapter(value)
            for value, adapter in zip(values, self.adapters, strict=True)
        ]

    def insert(self, rows: Iterable[Sequence[Any]]) -> None:
        params = [self._adapted(values) for values in rows]
        if not params:
            return
        # Table and column names come from the model's metadata, quoted; values are parameters.
        sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
            self.table, ", ".join(self.columns), ", ".join(["%s"] * len(self.columns))
        )
        with self.database.cursor() as cursor:
            cursor.executemany(sql, params)

    def update(self, rows: Iterable[tuple[Sequence[Any], int]]) -> None:
        """`rows` are (values, primary key) pairs."""
        params = [[*self._adapted(values), pk] for values, pk in rows]
        if not params:
            return
        assignments = ", ".join(f"{column} = %s" for column in self.columns)
        sql = f"UPDATE {self.table} SET {assignments} WHERE {self.pk_column} = %s"  # noqa: S608
        with self.database.cursor() as cursor:
            cursor.executemany(sql, params)


def _write_batch(
    records: Sequence[AffiliateRecord],
    *,
    loans: dict[str, _AffiliateLoans] | None,
    origin: str,
    now: datetime,
) -> _BatchOutcome:
    """Write one batch; the caller holds the transaction."""
    outcome = _BatchOutcome()
    existing: dict[str, tuple[int, str, str]] = {}
    stored_curps: dict[str, str] = {}
    for chunk in _chunks([record.number for record in records]):
        for pk, number, digest, current_loans, curp in Affiliate.objects.filter(
            number__in=chunk
        ).values_list("pk", "number", "source_digest", "loans_digest", "curp"):
            existing[number] = (pk, digest, current_loans)
            stored_curps[number] = curp
    # Only a CURP the affiliate does not already hold can belong to someone else.
    new_curps = [r.curp for r in records if stored_curps.get(r.number) != r.curp]
    curp_owners: dict[str, str] = {}
    for chunk in _chunks(new_curps):
        curp_owners.update(Affiliate.objects.filter(curp__in=chunk).values_list("curp", "number"))

    accepted = []
    for record in records:
        owner = curp_owners.get(record.curp, record.number)
        if owner != record.number:
            outcome.refused.add(record.number)
            outcome.rejected.append(
                Rejection(
                    record.row,
                    _(
                        "la CURP %(curp)s ya está registrada en el portal con el número de "
                        "afiliación %(owner)s"
                    )
                    % {"curp": record.curp, "owner": owner},
                )
            )
        else:
            accepted.append(record)
    employer_ids = _employer_ids(accepted)

    to_create: list[list[Any]] = []
    to_update: list[tuple[list[Any], int]] = []
    unchanged_ids: list[int] = []
    # Affiliates whose loans are rewritten, with their new loans.
    new_loans: dict[str, list[LoanRecord]] = {}
    for record in accepted:
        digest = record.digest()
        pk, stored_digest, stored_loans = existing.get(record.number, (None, "", ""))
        loans_digest_now = stored_loans
        if loans is not None:
            affiliate_loans = loans.get(record.number, _NO_LOANS)
            if affiliate_loans.broken_row is None:
                loans_digest_now = loans_digest(affiliate_loans.records)
                if loans_digest_now != stored_loans:
                    new_loans[record.number] = affiliate_loans.records
        if pk is not None and digest == stored_digest and loans_digest_now == stored_loans:
            unchanged_ids.append(pk)
        else:
            values = [
                *record.model_values(),
                employer_ids[record.employer_code],
                origin,
                now,
                digest,
                loans_digest_now,
            ]
            if pk is None:
                to_create.append([record.number, *values])
            else:
                to_update.append((values, pk))

    _Statement(Affiliate, WRITTEN_FIELDS).update(to_update)
    _Statement(Affiliate, ("number", *WRITTEN_FIELDS)).insert(to_create)
    for chunk in _chunks(unchanged_ids):
        Affiliate.objects.filter(pk__in=chunk).update(synced_at=now, source=origin)
    if new_loans:
        _replace_loans(new_loans, existing=existing)
    outcome.created = len(to_create)
    outcome.updated = len(to_update)
    outcome.unchanged = len(unchanged_ids)
    outcome.loans_replaced = len(new_loans)
    return outcome


LOAN_FIELDS = (
    "affiliate",
    "product_code",
    "original_amount",
    "balance",
    "installments_paid",
    "installments_total",
    "quincenal_payment",
)


def _replace_loans(
    new_loans: dict[str, list[LoanRecord]], *, existing: dict[str, tuple[int, str, str]]
) -> None:
    ids = {number: existing[number][0] for number in new_loans if number in existing}
    stale = list(ids.values())
    created = [number for number in new_loans if number not in ids and new_loans[number]]
    # executemany returns no ids: ask for those of the affiliates just inserted.
    for chunk in _chunks(created):
        ids.update(Affiliate.objects.filter(number__in=chunk).values_list("number", "pk"))
    for chunk in _chunks(stale):
        AffiliateLoan.objects.filter(affiliate_id__in=chunk).delete()
    _Statement(AffiliateLoan, LOAN_FIELDS).insert(
        (
            ids[number],
            loan.product_code,
            loan.original_amount,
            loan.balance,
            loan.installments_paid,
            loan.installments_total,
            loan.quincenal_payment,
        )
        for number, records in new_loans.items()
        for loan in records
    )


def _flush(
    records: Sequence[AffiliateRecord],
    *,
    loans: dict[str, _AffiliateLoans] | None,
    origin: str,
    now: datetime,
) -> _BatchOutcome:
    """Write a batch in one transaction; if the database refuses it (another process wrote a
    conflicting row since we looked), retry row by row so only the offending rows are lost."""
    try:
        with transaction.atomic():
            return _write_batch(records, loans=loans, origin=origin, now=now)
    except (IntegrityError, DataError):
        logger.warning("Affiliate sync batch refused by the database; retrying row by row")
    outcome = _BatchOutcome()
    for record in records:
        try:
            with transaction.atomic():
                outcome.add(_write_batch([record], loans=loans, origin=origin, now=now))
        except (IntegrityError, DataError) as error:
            outcome.refused.add(record.number)
            outcome.rejected.append(
                Rejection(
                    record.row,
                    _("la base de datos del portal no aceptó la fila: %(error)s")
                    % {"error": error},
                )
            )
    return outcome


def _read_loans(rows: Iterable[SourceRow], result: SyncResult) -> dict[str, _AffiliateLoans]:
    loans: dict[str, _AffiliateLoans] = {}
    for row in rows:
        try:
            loan = loan_record_from_row(row)
        except RowRejected as rejected:
            result.loans_rejected.append(Rejection(row.number, str(rejected)))
            # Remember the affiliate so none of their loans is applied from a partial list.
            number = _clean(row.values.get("numero_afiliacion")).upper()
            if number:
                affiliate_loans = loans.setdefault(number, _AffiliateLoans())
                affiliate_loans.rows.append(row.number)
                if affiliate_loans.broken_row is None:
                    affiliate_loans.broken_row = row.number
            continue
        affiliate_loans = loans.setdefault(loan.number, _AffiliateLoans())
        affiliate_loans.records.append(loan)
        affiliate_loans.rows.append(row.number)
    return loans


def _reject_unapplied_loans(
    loans: dict[str, _AffiliateLoans],
    *,
    accepted: Container[str],
    rejected_numbers: set[str],
    result: SyncResult,
) -> None:
    """Report the loan rows that were not applied and were not already reported.

    `accepted`: numbers whose affiliate was written; `rejected_numbers`: numbers of rows
    rejected (a number may be in both when a later row of it was accepted).
    """
    already = {rejection.row for rejection in result.loans_rejected}
    for number, affiliate_loans in loans.items():
        written = number in accepted
        if written and affiliate_loans.broken_row is None:
            continue
        if written:
            reason = _(
                "no se actualizaron los préstamos del afiliado %(number)s porque su fila "
                "%(row)d del archivo de préstamos fue rechazada"
            ) % {"number": number, "row": affiliate_loans.broken_row}
        elif number in rejected_numbers:
            reason = _(
                "el afiliado %(number)s fue rechazado en esta sincronización; sus préstamos no "
                "se actualizaron"
            ) % {"number": number}
        else:
            reason = _(
                "el número de afiliación %(number)s no está entre los afiliados de esta "
                "sincronización"
            ) % {"number": number}
        result.loans_rejected.extend(
            Rejection(row, reason) for row in affiliate_loans.rows if row not in already
        )


def sync_rows(
    *,
    rows: Iterable[SourceRow],
    loan_rows: Iterable[SourceRow] | None,
    origin: str,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> SyncResult:
    """Validate and upsert affiliate rows (and, when given, every affiliate's loans).

    `progress` is called with the number of affiliate rows read so far after each batch and
    at the end. Raises SourceUnavailable if the source fails while being read; the batches
    written before that stay written.
    """
    result = SyncResult(synced_at=timezone.now())
    # Loans first and whole: they are few per affiliate, and each batch of affiliates needs
    # theirs at hand to compare digests.
    loans = _read_loans(loan_rows, result) if loan_rows is not None else None
    today = timezone.localdate(result.synced_at, timezone=MEXICO_CITY)
    seen_numbers: dict[str, int] = {}
    seen_curps: dict[str, int] = {}
    rejected_numbers: set[str] = set()
    # Accepted here but refused when written (CURP held by another affiliate in the portal).
    refused: set[str] = set()
    pending: list[AffiliateRecord] = []

    def flush() -> None:
        outcome = _flush(pending, loans=loans, origin=origin, now=result.synced_at)
        result.created += outcome.created
        result.updated += outcome.updated
        result.unchanged += outcome.unchanged
        result.loans_replaced += outcome.loans_replaced
        result.rejected.extend(outcome.rejected)
        refused.update(outcome.refused)
        pending.clear()
        if progress is not None:
            progress(result.rows_read)

    for row in rows:
        result.rows_read += 1
        try:
            record = affiliate_record_from_row(row, today=today)
            if record.number in seen_numbers:
                raise RowRejected(
                    _("número de afiliación repetido: %(number)s ya apareció en la fila %(row)d")
                    % {"number": record.number, "row": seen_numbers[record.number]}
                )
            if record.curp in seen_curps:
                raise RowRejected(
                    _("CURP repetida: %(curp)s ya apareció en la fila %(row)d")
                    % {"curp": record.curp, "row": seen_curps[record.curp]}
                )
        except RowRejected as rejected:
            result.rejected.append(Rejection(row.number, str(rejected)))
            number = _clean(row.values.get("numero_afiliacion")).upper()
            if number and number not in seen_numbers:
                rejected_numbers.add(number)
            continue
        seen_numbers[record.number] = record.row
        seen_curps[record.curp] = record.row
        pending.append(record)
        if len(pending) >= batch_size:
            flush()
    if pending:
        flush()
    elif progress is not None:
        progress(result.rows_read)

    if loans is not None:
        _reject_unapplied_loans(
            loans,
            accepted=seen_numbers.keys() - refused,
            rejected_numbers=rejected_numbers | refused,
            result=result,
        )
    result.rejected.sort(key=lambda rejection: rejection.row)
    result.loans_rejected.sort(key=lambda rejection: rejection.row)
    return result


def affiliates_sync(
    *,
    source: AffiliateSource,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> SyncResult:
    """Synchronise every affiliate (and their loans, if the source has them) from `source`.

    `source` is an `affiliates.sources.AffiliateSource`: a CsvSource or a DatabaseSource.
    Raises SourceUnavailable when it cannot be read.
    """
    return sync_rows(
        rows=source.affiliate_rows(),
        loan_rows=source.loan_rows(),
        origin=source.origin,
        progress=progress,
        batch_size=batch_size,
    )


# --- One affiliate -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RefreshOutcome:
    """`affiliate` is the affiliate as the portal now holds it (re-read after a refresh)."""

    affiliate: Affiliate
    refreshed: bool
    message: str


def format_synced_at(moment: datetime) -> str:
    """dd/mm/aaaa hh:mm in Guanajuato's time, as the portal shows "datos al ..."."""
    return timezone.localtime(moment, MEXICO_CITY).strftime("%d/%m/%Y %H:%M")


def affiliate_refresh(*, affiliate: Affiliate) -> RefreshOutcome:
    """Re-read one affiliate (and their loans) from the institute's database and upsert them.

    Called when an application starts and before approval. Never raises for the source: when it
    is down, or no longer reports the affiliate, or reports data that does not validate, the
    stored data is kept and the message says as of when it is. Details that could name another
    affiliate (a CURP held by someone else) go to the log, not to the message.
    """
    source = source_from_settings()
    try:
        rows, loan_rows = source.fetch_affiliate(number=affiliate.number)
    except SourceUnavailable as error:
        logger.warning("Refresh of affiliate %s: source unavailable: %s", affiliate.pk, error)
        return RefreshOutcome(
            affiliate=affiliate,
            refreshed=False,
            message=_(
                "No pudimos consultar la base de datos del Instituto; mostramos los datos "
                "registrados al %(date)s."
            )
            % {"date": format_synced_at(affiliate.synced_at)},
        )
    if not rows:
        logger.warning("Refresh of affiliate %s: not in the source any more", affiliate.pk)
        return RefreshOutcome(
            affiliate=affiliate,
            refreshed=False,
            message=_(
                "La base de datos del Instituto ya no reporta el número de afiliación "
                "%(number)s; mostramos los datos registrados al %(date)s. Si cree que es un "
                "error, comuníquese con el Instituto."
            )
            % {"number": affiliate.number, "date": format_synced_at(affiliate.synced_at)},
        )
    result = sync_rows(rows=rows, loan_rows=loan_rows, origin=source.origin)
    fresh = Affiliate.objects.select_related("employer").get(pk=affiliate.pk)
    if result.rejected or result.loans_rejected:
        logger.warning(
            "Refresh of affiliate %s: source data rejected: %s",
            affiliate.pk,
            [r.reason for r in (*result.rejected, *result.loans_rejected)],
        )
    if result.rejected:
        return RefreshOutcome(
            affiliate=fresh,
            refreshed=False,
            message=_(
                "Los datos que reporta el Instituto para su afiliación tienen un error y no "
                "pudimos actualizarlos; mostramos los datos registrados al %(date)s. "
                "Comuníquese con el Instituto para corregirlos."
            )
            % {"date": format_synced_at(fresh.synced_at)},
        )
    return RefreshOutcome(
        affiliate=fresh,
        refreshed=True,
        message=_("Datos actualizados desde la base de datos del Instituto al %(date)s.")
        % {"date": format_synced_at(fresh.synced_at)},
    )
