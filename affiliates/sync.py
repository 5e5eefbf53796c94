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

import logging
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

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

from affiliates.models import Affiliate, AffiliateLoan, Employer
from affiliates.records import (
    WRITTEN_FIELDS,
    AffiliateRecord,
    LoanRecord,
    Rejection,
    RowRejected,
    affiliate_record_from_row,
    clean_text,
    loan_record_from_row,
    loans_digest,
)
from affiliates.sources import (
    AffiliateSource,
    SourceRow,
    SourceUnavailable,
    source_from_settings,
)
from isseg_portal.institute_time import INSTITUTE_TIME_ZONE

logger = logging.getLogger(__name__)

# Rows per transaction: large enough for bulk statements to pay off, small enough that a
# failed batch retried row by row stays cheap.
BATCH_SIZE = 2000
T = TypeVar("T")

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
            number = clean_text(row.values.get("numero_afiliacion")).upper()
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
    today = timezone.localdate(result.synced_at, timezone=INSTITUTE_TIME_ZONE)
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
            number = clean_text(row.values.get("numero_afiliacion")).upper()
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
    return timezone.localtime(moment, INSTITUTE_TIME_ZONE).strftime("%d/%m/%Y %H:%M")


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
