"""The DB-API path, run on a real sqlite3 database shaped like the institute's Oracle views."""

import json
import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError

from affiliates.models import Affiliate, AffiliateLoan, DataSource
from affiliates.sources import (
    AFFILIATE_COLUMNS,
    CsvSource,
    DatabaseSource,
    SourceLayoutError,
    SourceUnavailable,
    source_from_settings,
)
from affiliates.sync import affiliate_refresh, affiliates_sync
from demo.institute import create_institute_database
from tests.affiliates.rows import affiliate_row, loan_row, write_csv, write_loans_csv
from tests.factories import AffiliateFactory, AffiliateLoanFactory

pytestmark = pytest.mark.django_db

# The settings' default query plus the optional blocked columns the demo views carry.
AFFILIATES_WITH_BLOCK_SQL = (
    f"SELECT {', '.join(AFFILIATE_COLUMNS)}, bloqueado, motivo_bloqueo "  # noqa: S608
    "FROM v_portal_afiliados"
)


@pytest.fixture
def institute(tmp_path, settings):
    """Point AFFILIATES_SOURCE at a sqlite3 institute database the test fills."""
    path = tmp_path / "institute.sqlite3"
    settings.AFFILIATES_SOURCE = {
        **settings.AFFILIATES_SOURCE,
        "DRIVER": "sqlite3",
        "DSN": str(path),
        "AFFILIATES_SQL": AFFILIATES_WITH_BLOCK_SQL,
    }
    return path


def test_a_full_sync_from_the_institute_database_loads_affiliates_and_loans(institute):
    # given the institute's views with two good affiliates, a bad one and a loan; amounts are
    # NUMERIC columns, so SQLite hands them back as int and float
    first = affiliate_row(sueldo_base_quincenal="9500.00", neto_quincenal="7800.10")
    blocked = affiliate_row(bloqueado="1", motivo_bloqueo="Pensión alimenticia")
    bad = affiliate_row(fecha_nacimiento="1975-02-30")
    number = first["numero_afiliacion"]
    create_institute_database(institute, [first, bad, blocked], [loan_row(number)])

    # when the configured source is synced
    result = affiliates_sync(source=source_from_settings())

    # then the good rows are loaded, the bad one is reported by its ordinal in the query
    assert result.as_json() == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": [
            {
                "row": 2,
                "reason": "fecha de nacimiento inválida: '1975-02-30' (se espera AAAA-MM-DD)",
            }
        ],
    }
    affiliate = Affiliate.objects.get(number=number)
    assert affiliate.base_salary == Decimal("9500.00")
    assert affiliate.net_pay == Decimal("7800.10")
    assert affiliate.birth_date == date(1978, 3, 9)
    assert affiliate.employer.name == "Secretaría de Educación de Guanajuato"
    assert affiliate.source == DataSource.DATABASE
    assert affiliate.is_blocked is False
    loan = AffiliateLoan.objects.get(affiliate=affiliate)
    assert (loan.balance, loan.installments_paid) == (Decimal("22000.00"), 30)
    assert Affiliate.objects.get(number=blocked["numero_afiliacion"]).blocked_reason == (
        "Pensión alimenticia"
    )


def test_the_database_and_a_csv_of_the_same_rows_give_the_same_affiliates(institute, tmp_path):
    # given the same affiliates and loans in the institute's views and in CSV files
    rows = [affiliate_row(neto_quincenal="8000.05"), affiliate_row(), affiliate_row()]
    loans = [loan_row(rows[0]["numero_afiliacion"], saldo="1234.10")]
    create_institute_database(institute, rows, loans)
    affiliates_csv = write_csv(tmp_path / "afiliados.csv", rows)
    loans_csv = write_loans_csv(tmp_path / "prestamos.csv", loans)

    # when the portal syncs from the database, then from the files
    from_database = affiliates_sync(source=source_from_settings())
    from_csv = affiliates_sync(
        source=CsvSource(affiliates_path=affiliates_csv, loans_path=loans_csv)
    )

    # then the files find every affiliate and every loan exactly as the database left them
    assert (from_database.created, from_database.loans_replaced) == (3, 3)
    assert (from_csv.created, from_csv.updated, from_csv.unchanged) == (0, 0, 3)
    assert from_csv.loans_replaced == 0
    assert set(Affiliate.objects.values_list("source", flat=True)) == {DataSource.CSV}


def test_values_typed_like_oracles_read_like_the_csv(institute, tmp_path):
    # given a driver that returns dates, datetimes (Oracle's DATE), Decimal and int, as
    # oracledb does, over the same view
    sqlite3.register_converter("portal_date", lambda raw: date.fromisoformat(raw.decode()))
    sqlite3.register_converter(
        "portal_datetime", lambda raw: datetime.fromisoformat(raw.decode() + "T00:00:00")
    )
    sqlite3.register_converter("portal_decimal", lambda raw: Decimal(raw.decode()))
    sqlite3.register_converter("portal_int", lambda raw: int(raw))
    typed = {
        "numero_afiliacion": "portal_int",
        "fecha_nacimiento": "portal_datetime",
        "fecha_inicio_cotizacion": "portal_date",
        "sueldo_base_quincenal": "portal_decimal",
        "neto_quincenal": "portal_decimal",
        "descuentos_quincenales": "portal_decimal",
    }
    columns = ", ".join(
        f'CAST({name} AS TEXT) AS "{name} [{typed[name]}]"' if name in typed else name
        for name in AFFILIATE_COLUMNS
    )
    rows = [affiliate_row(), affiliate_row()]
    create_institute_database(institute, rows)
    source = DatabaseSource(
        connect=lambda: sqlite3.connect(institute, detect_types=sqlite3.PARSE_COLNAMES),
        affiliates_sql=f"SELECT {columns} FROM v_portal_afiliados",  # noqa: S608
        loans_sql=None,
    )

    # when the portal syncs from that driver, then from a CSV of the same rows
    affiliates_sync(source=source)
    again = affiliates_sync(
        source=CsvSource(affiliates_path=write_csv(tmp_path / "afiliados.csv", rows))
    )

    # then the CSV changes nothing: both read the same values
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_oracle_style_upper_case_column_names_are_accepted(institute):
    # given a query that answers with upper-case column names, as Oracle does
    rows = [affiliate_row()]
    create_institute_database(institute, rows)
    upper = ", ".join(f"{name} AS {name.upper()}" for name in AFFILIATE_COLUMNS)
    source = DatabaseSource(
        connect=lambda: sqlite3.connect(institute),
        affiliates_sql=f"SELECT {upper} FROM v_portal_afiliados",  # noqa: S608
        loans_sql=None,
    )

    # when it is synced, then the affiliate is loaded
    assert affiliates_sync(source=source).created == 1


class CountingCursor(sqlite3.Cursor):
    """A real sqlite3 cursor that remembers how it was asked for rows."""

    fetches: list[str] = []

    def fetchmany(self, size=None):
        rows = super().fetchmany(size) if size is not None else super().fetchmany()
        CountingCursor.fetches.append(f"fetchmany({size}) -> {len(rows)}")
        return rows

    def fetchall(self):
        CountingCursor.fetches.append("fetchall")
        return super().fetchall()


class CountingConnection(sqlite3.Connection):
    def cursor(self, factory=CountingCursor):
        return super().cursor(factory)


def test_rows_are_streamed_in_fetchmany_rounds(institute):
    # given five affiliates and a source that fetches two rows per round trip
    create_institute_database(institute, [affiliate_row() for _ in range(5)])
    CountingCursor.fetches = []
    source = DatabaseSource(
        connect=lambda: sqlite3.connect(institute, factory=CountingConnection),
        affiliates_sql="SELECT * FROM v_portal_afiliados",
        loans_sql=None,
        fetch_size=2,
    )

    # when its rows are read
    rows = list(source.affiliate_rows())

    # then they came in rounds of two, never all at once, numbered in order
    assert [row.number for row in rows] == [1, 2, 3, 4, 5]
    assert CountingCursor.fetches == [
        "fetchmany(2) -> 2",
        "fetchmany(2) -> 2",
        "fetchmany(2) -> 1",
        "fetchmany(2) -> 0",
    ]


def test_one_affiliate_and_their_loans_are_fetched_by_number(institute):
    # given three affiliates, two loans of the second and one of the third
    rows = [affiliate_row() for _ in range(3)]
    second, third = rows[1]["numero_afiliacion"], rows[2]["numero_afiliacion"]
    create_institute_database(
        institute,
        rows,
        [loan_row(second), loan_row(third), loan_row(second, clave_producto="PE")],
    )

    # when the second affiliate is fetched
    found, loans = source_from_settings().fetch_affiliate(number=second)

    # then only their row and their loans come back, as text like the CSV
    assert [row.values["curp"] for row in found] == [rows[1]["curp"]]
    assert found[0].values["sueldo_base_quincenal"] == "10250.5"
    assert [loan.values["clave_producto"] for loan in loans] == ["PC", "PE"]
    # and an unknown number finds nothing
    assert source_from_settings().fetch_affiliate(number="000000") == ([], [])


def test_a_missing_database_file_is_unavailable_and_is_not_created(institute):
    # given no institute database at the configured path
    source = source_from_settings()

    # when it is read, then the source is unavailable, and no empty database appeared
    with pytest.raises(SourceUnavailable) as error:
        list(source.affiliate_rows())
    assert str(error.value).startswith("No pudimos consultar la base de datos del Instituto")
    assert not institute.exists()


def test_a_missing_view_is_unavailable(institute, settings):
    # given a database without the configured view
    create_institute_database(institute, [affiliate_row()])
    settings.AFFILIATES_SOURCE["AFFILIATES_SQL"] = "SELECT * FROM v_portal_no_existe"

    # when it is read, then the source is unavailable and says why
    with pytest.raises(SourceUnavailable) as error:
        list(source_from_settings().affiliate_rows())
    assert "v_portal_no_existe" in str(error.value)


def test_a_query_with_the_wrong_columns_is_refused(institute, settings):
    # given a query that leaves most columns out
    create_institute_database(institute, [affiliate_row()])
    settings.AFFILIATES_SOURCE["AFFILIATES_SQL"] = (
        "SELECT numero_afiliacion, curp, rfc AS rfc_homoclave FROM v_portal_afiliados"
    )

    # when it is read, then nothing is read and the message names the columns
    with pytest.raises(SourceLayoutError) as error:
        list(source_from_settings().affiliate_rows())
    assert str(error.value).startswith(
        "Las columnas de la consulta de afiliados no son las esperadas: faltan rfc, nombre, "
    )
    assert "no se reconocen 'rfc_homoclave'" in str(error.value)


def test_an_unknown_driver_is_a_configuration_error(settings):
    settings.AFFILIATES_SOURCE = {**settings.AFFILIATES_SOURCE, "DRIVER": "mysql"}
    with pytest.raises(ImproperlyConfigured):
        source_from_settings()


def test_the_command_without_csv_syncs_the_institute_database(institute):
    # given the institute's views with an affiliate and their loan
    row = affiliate_row()
    create_institute_database(institute, [row], [loan_row(row["numero_afiliacion"])])
    out = StringIO()

    # when the command runs without --csv
    call_command("sync_affiliates", "--json", stdout=out, stderr=StringIO())

    # then it read the database, loans included
    assert json.loads(out.getvalue()) == {
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "rejected": [],
    }
    assert AffiliateLoan.objects.filter(affiliate__number=row["numero_afiliacion"]).count() == 1


def test_the_command_with_the_source_down_is_a_command_error(institute):
    # given no institute database, when the command runs, then it fails with a clear message
    with pytest.raises(CommandError) as error:
        call_command("sync_affiliates", "--json", stdout=StringIO(), stderr=StringIO())
    assert str(error.value).startswith("No pudimos consultar la base de datos del Instituto")


# --- Refreshing one affiliate ------------------------------------------------------------------


def test_refresh_updates_a_changed_affiliate_and_their_loans(institute):
    # given an affiliate synced from the institute, with no loans
    row = affiliate_row()
    number = row["numero_afiliacion"]
    create_institute_database(institute, [row, affiliate_row()])
    affiliates_sync(source=source_from_settings())
    affiliate = Affiliate.objects.get(number=number)

    # and the institute has since raised their salary and granted a loan
    row["sueldo_base_quincenal"] = "12000.00"
    create_institute_database(institute, [row], [loan_row(number)])

    # when the portal refreshes that affiliate
    outcome = affiliate_refresh(affiliate=affiliate)

    # then the new data is stored and the message says as of when
    assert outcome.refreshed is True
    fresh = Affiliate.objects.get(number=number)
    assert outcome.affiliate == fresh
    assert fresh.base_salary == Decimal("12000.00")
    assert fresh.loans.count() == 1
    assert fresh.synced_at > affiliate.synced_at
    shown = fresh.synced_at.astimezone(ZoneInfo("America/Mexico_City")).strftime("%d/%m/%Y %H:%M")
    assert outcome.message == f"Datos actualizados desde la base de datos del Instituto al {shown}."


def test_refresh_with_the_source_down_keeps_the_data_and_says_its_date(institute):
    # given an affiliate last synced on 15 March 2026 at 18:30 UTC (12:30 in Guanajuato), with
    # a loan, and no institute database reachable
    synced_at = datetime(2026, 3, 15, 18, 30, tzinfo=UTC)
    affiliate = AffiliateFactory(synced_at=synced_at, base_salary=Decimal("9500.00"))
    AffiliateLoanFactory(affiliate=affiliate)

    # when the portal refreshes it
    outcome = affiliate_refresh(affiliate=affiliate)

    # then nothing changed and the person is told the date of the data shown
    assert outcome.refreshed is False
    assert outcome.message == (
        "No pudimos consultar la base de datos del Instituto; mostramos los datos registrados "
        "al 15/03/2026 12:30."
    )
    affiliate.refresh_from_db()
    assert (affiliate.synced_at, affiliate.base_salary) == (synced_at, Decimal("9500.00"))
    assert affiliate.loans.count() == 1


def test_refresh_of_an_affiliate_the_institute_no_longer_reports_keeps_the_data(institute):
    # given an affiliate the institute's views do not list
    synced_at = datetime(2026, 7, 1, 14, 5, tzinfo=UTC)
    affiliate = AffiliateFactory(number="654321", synced_at=synced_at)
    create_institute_database(institute, [affiliate_row()])

    # when the portal refreshes it
    outcome = affiliate_refresh(affiliate=affiliate)

    # then the data stays and the message says the number is no longer reported
    assert outcome.refreshed is False
    assert outcome.message == (
        "La base de datos del Instituto ya no reporta el número de afiliación 654321; "
        "mostramos los datos registrados al 01/07/2026 08:05. Si cree que es un error, "
        "comuníquese con el Instituto."
    )
    affiliate.refresh_from_db()
    assert affiliate.synced_at == synced_at


def test_refresh_with_invalid_source_data_keeps_the_data_without_naming_others(institute):
    # given an affiliate whose institute row now carries another affiliate's CURP
    other = AffiliateFactory(number="111222")
    synced_at = datetime(2026, 7, 1, 14, 5, tzinfo=UTC)
    affiliate = AffiliateFactory(number="333444", synced_at=synced_at)
    own_curp = affiliate.curp
    create_institute_database(
        institute, [affiliate_row(numero_afiliacion="333444", curp=other.curp)]
    )

    # when the portal refreshes it
    outcome = affiliate_refresh(affiliate=affiliate)

    # then the data stays, and the message does not disclose the other affiliate's number
    assert outcome.refreshed is False
    assert "111222" not in outcome.message
    assert outcome.message.startswith(
        "Los datos que reporta el Instituto para su afiliación tienen un error"
    )
    affiliate.refresh_from_db()
    assert (affiliate.curp, affiliate.synced_at) == (own_curp, synced_at)
