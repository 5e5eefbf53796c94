"""Sync from CSV files: what lands in the database, what is rejected and why, and the command."""

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from affiliates.management.commands import sync_affiliates as command_module
from affiliates.models import (
    Affiliate,
    AffiliateLoan,
    AffiliateStatus,
    DataSource,
    Employer,
    Sex,
)
from affiliates.sources import AFFILIATE_COLUMNS, CsvSource
from affiliates.sync import SyncResult, affiliates_sync
from tests.affiliates.rows import affiliate_row, loan_row, write_csv, write_loans_csv
from tests.factories import AffiliateFactory

pytestmark = pytest.mark.django_db


def sync_csv(
    folder: Path, rows: list[dict], loans: list[dict] | None = None, **options
) -> SyncResult:
    path = write_csv(folder / "afiliados.csv", rows)
    loans_path = write_loans_csv(folder / "prestamos.csv", loans) if loans is not None else None
    return affiliates_sync(source=CsvSource(affiliates_path=path, loans_path=loans_path), **options)


def rejections(result: SyncResult) -> list[dict]:
    return result.as_json()["rejected"]


def other_digit(value: str) -> str:
    return next(char for char in "0123456789" if char != value[-1])


# --- Affiliates --------------------------------------------------------------------------------


def test_good_rows_create_affiliates_with_every_field(tmp_path):
    # given a file with a plain row and a row that needs normalising and is blocked
    plain = affiliate_row()
    messy = affiliate_row(
        curp=affiliate_row()["curp"].lower(),
        nombre="  Ana   María ",
        sexo="x",
        estatus=" Pensionado ",
        telefono="(473) 735-1200",
        clave_dependencia="ssg",
        dependencia="Secretaría de Salud de Guanajuato",
        bloqueado="si",
        motivo_bloqueo="Adeudo vencido con el Instituto",
    )

    # when it is synced
    result = sync_csv(tmp_path, [plain, messy])

    # then both affiliates exist with every field as the file says
    assert (result.created, result.updated, result.unchanged, rejections(result)) == (2, 0, 0, [])
    affiliate = Affiliate.objects.select_related("employer").get(number=plain["numero_afiliacion"])
    assert affiliate.curp == plain["curp"]
    assert affiliate.rfc == plain["rfc"]
    assert affiliate.given_names == plain["nombre"]
    assert affiliate.first_surname == plain["primer_apellido"]
    assert affiliate.second_surname == plain["segundo_apellido"]
    assert affiliate.birth_date == date(1978, 3, 9)
    assert affiliate.sex == Sex.FEMALE
    assert affiliate.email == plain["email"]
    assert affiliate.phone == "4737351200"
    assert affiliate.status == AffiliateStatus.ACTIVE
    assert affiliate.employer.code == "SEG"
    assert affiliate.employer.name == "Secretaría de Educación de Guanajuato"
    assert affiliate.municipality == "Guanajuato"
    assert affiliate.contribution_start == date(2004, 2, 16)
    assert affiliate.base_salary == Decimal("10250.50")
    assert affiliate.net_pay == Decimal("8120.75")
    assert affiliate.current_deductions == Decimal("615.20")
    assert affiliate.is_blocked is False
    assert affiliate.blocked_reason == ""
    assert affiliate.source == DataSource.CSV
    assert affiliate.synced_at == result.synced_at
    assert len(affiliate.source_digest) == 64
    # No loans file: nothing is known about their loans.
    assert affiliate.loans_digest == ""

    blocked = Affiliate.objects.select_related("employer").get(number=messy["numero_afiliacion"])
    assert blocked.curp == messy["curp"].upper()
    assert blocked.given_names == "Ana María"
    assert blocked.sex == Sex.NON_BINARY
    assert blocked.status == AffiliateStatus.PENSIONER
    assert blocked.phone == "4737351200"
    assert blocked.employer.code == "SSG"
    assert blocked.is_blocked is True
    assert blocked.blocked_reason == "Adeudo vencido con el Instituto"


def test_the_stored_sex_words_are_accepted_too(tmp_path):
    # given rows that spell the sex as the portal stores it
    rows = [affiliate_row(sexo="mujer"), affiliate_row(sexo="Hombre")]

    # when they are synced, then they map to the same choices
    sync_csv(tmp_path, rows)
    assert list(Affiliate.objects.order_by("number").values_list("sex", flat=True)) == [
        Sex.FEMALE,
        Sex.MALE,
    ]


BAD_ROWS = {
    "curp_check_digit": lambda row: (
        {"curp": (curp := row["curp"][:17] + other_digit(row["curp"]))},
        f"CURP inválida: su dígito verificador no corresponde ('{curp}')",
    ),
    "curp_missing": lambda row: ({"curp": ""}, "falta la CURP"),
    "rfc_check_digit": lambda row: (
        {"rfc": (rfc := row["rfc"][:12] + other_digit(row["rfc"]))},
        f"RFC inválido: su dígito verificador no corresponde ('{rfc}')",
    ),
    "rfc_without_homoclave": lambda row: (
        {"rfc": row["rfc"][:10]},
        "RFC inválido: debe tener 13 caracteres (persona física, con homoclave) "
        f"('{row['rfc'][:10]}')",
    ),
    "name_missing": lambda row: ({"nombre": "  "}, "falta el nombre"),
    "first_surname_missing": lambda row: ({"primer_apellido": ""}, "falta el primer apellido"),
    "birth_date_month_13": lambda row: (
        {"fecha_nacimiento": "1975-13-01"},
        "fecha de nacimiento inválida: '1975-13-01' (se espera AAAA-MM-DD)",
    ),
    "birth_date_day_first": lambda row: (
        {"fecha_nacimiento": "15/06/1975"},
        "fecha de nacimiento inválida: '15/06/1975' (se espera AAAA-MM-DD)",
    ),
    "sex_unknown": lambda row: ({"sexo": "F"}, "sexo desconocido: 'F' (se espera H, M o X)"),
    "email_invalid": lambda row: (
        {"email": "sin-arroba.example.org"},
        "correo electrónico inválido: 'sin-arroba.example.org'",
    ),
    "phone_invalid": lambda row: (
        {"telefono": "sin número"},
        "teléfono inválido: 'sin número' (se esperan de 7 a 15 dígitos)",
    ),
    "status_unknown": lambda row: (
        {"estatus": "xyz"},
        "estatus desconocido: 'xyz' (se espera activo, pensionado, jubilado o baja)",
    ),
    "employer_missing": lambda row: (
        {"clave_dependencia": ""},
        "falta la clave de la dependencia",
    ),
    "municipality_too_long": lambda row: (
        {"municipio": "M" * 121},
        "municipio: demasiados caracteres (máximo 120)",
    ),
    "contribution_before_birth": lambda row: (
        {"fecha_inicio_cotizacion": "1970-01-16"},
        "la fecha de inicio de cotización (1970-01-16) no es posterior a la de nacimiento",
    ),
    "salary_negative": lambda row: (
        {"sueldo_base_quincenal": "-10.00"},
        "monto negativo en sueldo_base_quincenal",
    ),
    "net_pay_with_thousands_separator": lambda row: (
        {"neto_quincenal": "8,120.75"},
        "monto inválido en neto_quincenal: '8,120.75' (se espera un número con punto decimal, "
        "p. ej. 9500.00)",
    ),
    "deductions_three_decimals": lambda row: (
        {"descuentos_quincenales": "615.205"},
        "monto con más de dos decimales en descuentos_quincenales: '615.205'",
    ),
    "deductions_missing": lambda row: (
        {"descuentos_quincenales": ""},
        "falta el monto en descuentos_quincenales",
    ),
    "blocked_unknown": lambda row: (
        {"bloqueado": "quizá"},
        "valor de bloqueado inválido: 'quizá' (se espera 0, 1, si o no)",
    ),
    "two_problems_at_once": lambda row: (
        {"nombre": "", "estatus": "vigente"},
        "falta el nombre; estatus desconocido: 'vigente' (se espera activo, pensionado, "
        "jubilado o baja)",
    ),
}


@pytest.mark.parametrize("case", BAD_ROWS.keys())
def test_a_bad_row_is_rejected_with_its_line_and_reason_while_the_others_load(tmp_path, case):
    # given a file whose second data row (line 3) has one kind of problem
    before, after = affiliate_row(), affiliate_row()
    bad = affiliate_row()
    overrides, reason = BAD_ROWS[case](bad)
    bad.update(overrides)

    # when it is synced
    result = sync_csv(tmp_path, [before, bad, after])

    # then that line is rejected with a specific reason and the good rows are loaded
    assert rejections(result) == [{"row": 3, "reason": reason}]
    assert result.created == 2
    assert set(Affiliate.objects.values_list("number", flat=True)) == {
        before["numero_afiliacion"],
        after["numero_afiliacion"],
    }


def test_lines_with_missing_or_extra_columns_are_rejected_by_line_number(tmp_path):
    # given a file with a quoted name spanning two lines, a blank line, a short line, a long
    # line and the row of bare commas spreadsheets leave at the end
    first, short, long, last = (affiliate_row() for _ in range(4))
    first["nombre"] = "Ana\nMaría"
    path = tmp_path / "afiliados.csv"
    write_csv(path, [first])
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n")  # line 4: blank
        handle.write(",".join(list(short.values())[:-1]) + "\n")  # line 5: 17 fields
        handle.write(",".join([*long.values(), "sobra"]) + "\n")  # line 6: 19 fields
        handle.write(",".join(last.values()) + "\n")  # line 7
        handle.write("," * 17 + "\n")  # line 8: bare commas

    # when it is synced
    result = affiliates_sync(source=CsvSource(affiliates_path=path))

    # then the short and long lines are rejected with their physical line numbers
    assert rejections(result) == [
        {"row": 5, "reason": "la fila tiene 17 columnas y el encabezado 18"},
        {"row": 6, "reason": "la fila tiene 19 columnas y el encabezado 18"},
    ]
    assert result.created == 2
    assert Affiliate.objects.get(number=first["numero_afiliacion"]).given_names == "Ana María"


def test_a_repeated_number_or_curp_in_the_same_file_rejects_the_second_occurrence(tmp_path):
    # given a file where line 3 repeats line 2's number and line 4 repeats line 2's CURP
    first = affiliate_row()
    same_number = affiliate_row(numero_afiliacion=first["numero_afiliacion"])
    same_curp = affiliate_row(curp=first["curp"])

    # when it is synced
    result = sync_csv(tmp_path, [first, same_number, same_curp])

    # then the first occurrence is loaded and the repetitions are rejected
    number, curp = first["numero_afiliacion"], first["curp"]
    assert rejections(result) == [
        {"row": 3, "reason": f"número de afiliación repetido: {number} ya apareció en la fila 2"},
        {"row": 4, "reason": f"CURP repetida: {curp} ya apareció en la fila 2"},
    ]
    assert Affiliate.objects.get().curp == first["curp"]


def test_a_curp_held_by_another_affiliate_number_in_the_portal_is_rejected(tmp_path):
    # given an affiliate already in the portal
    holder = AffiliateFactory(number="777001")
    row = affiliate_row(curp=holder.curp)
    other = affiliate_row()

    # when a file brings the same CURP under another number
    result = sync_csv(tmp_path, [row, other])

    # then that row is rejected, the holder is untouched and the rest is loaded
    assert rejections(result) == [
        {
            "row": 2,
            "reason": f"la CURP {holder.curp} ya está registrada en el portal con el número "
            "de afiliación 777001",
        }
    ]
    assert not Affiliate.objects.filter(number=row["numero_afiliacion"]).exists()
    assert Affiliate.objects.filter(number=other["numero_afiliacion"]).exists()
    holder.refresh_from_db()
    assert holder.source_digest.startswith("digest-")


def test_running_the_same_sync_twice_changes_nothing_but_the_confirmation_date(tmp_path):
    # given a file synced once, some time ago
    rows = [affiliate_row() for _ in range(3)]
    sync_csv(tmp_path, rows)
    long_ago = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    Affiliate.objects.update(synced_at=long_ago)
    digests = dict(Affiliate.objects.values_list("number", "source_digest"))

    # when the same file is synced again
    result = sync_csv(tmp_path, rows)

    # then nothing is created or updated, and every row's data is confirmed as of now
    assert (result.created, result.updated, result.unchanged, rejections(result)) == (0, 0, 3, [])
    assert dict(Affiliate.objects.values_list("number", "source_digest")) == digests
    assert set(Affiliate.objects.values_list("synced_at", flat=True)) == {result.synced_at}


def test_a_changed_row_is_updated_and_a_cosmetic_change_is_not(tmp_path):
    # given three affiliates synced from a file
    rows = [affiliate_row() for _ in range(3)]
    sync_csv(tmp_path, rows)

    # when one salary changes and another row only changes case and spacing
    rows[0]["sueldo_base_quincenal"] = "11000.00"
    rows[1]["curp"] = rows[1]["curp"].lower()
    rows[1]["nombre"] = f"  {rows[1]['nombre']} "
    result = sync_csv(tmp_path, rows)

    # then only the real change counts, and it is in the database
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    changed = Affiliate.objects.get(number=rows[0]["numero_afiliacion"])
    assert changed.base_salary == Decimal("11000.00")


def test_a_renamed_employer_is_renamed_without_counting_its_affiliates_as_changed(tmp_path):
    # given two affiliates of one dependencia
    rows = [affiliate_row(), affiliate_row()]
    sync_csv(tmp_path, rows)

    # when the dependencia's name changes in the source
    for row in rows:
        row["dependencia"] = "Secretaría de Educación del Estado de Guanajuato"
    result = sync_csv(tmp_path, rows)

    # then the employer carries the new name and the affiliates are unchanged
    assert Employer.objects.get(code="SEG").name == (
        "Secretaría de Educación del Estado de Guanajuato"
    )
    assert (result.updated, result.unchanged) == (0, 2)


REFUSE_ONE_NUMBER = {
    "sqlite": [
        "CREATE TEMP TRIGGER refuse_one BEFORE INSERT ON affiliates_affiliate "
        "WHEN NEW.number = %(number)s BEGIN SELECT RAISE(ABORT, 'rechazado'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION pg_temp.refuse_one() RETURNS trigger AS $$ BEGIN "
        "IF NEW.number = %(number)s THEN "
        "RAISE EXCEPTION 'rechazado' USING ERRCODE = 'check_violation'; END IF; "
        "RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_one BEFORE INSERT ON affiliates_affiliate "
        "FOR EACH ROW EXECUTE FUNCTION pg_temp.refuse_one()",
    ],
}


@pytest.mark.skipif(
    connection.vendor not in REFUSE_ONE_NUMBER, reason="no refusing trigger for this database"
)
def test_a_row_the_database_refuses_loses_only_that_row(tmp_path):
    # given a portal database that refuses one affiliate number (as another writer's
    # constraint or trigger might), and a batch of three rows that includes it
    rows = [affiliate_row() for _ in range(3)]
    refused = rows[1]["numero_afiliacion"]
    with connection.cursor() as cursor:
        for statement in REFUSE_ONE_NUMBER[connection.vendor]:
            # The number is made of digits only; quoted here because DDL takes no parameters.
            cursor.execute(statement % {"number": f"'{refused}'"})

    # when the file is synced in one batch
    result = sync_csv(tmp_path, rows, batch_size=10)

    # then the batch is retried row by row: only the refused row is lost, and it is reported
    assert result.created == 2
    assert [rejection["row"] for rejection in rejections(result)] == [3]
    assert rejections(result)[0]["reason"].startswith(
        "la base de datos del portal no aceptó la fila: "
    )
    assert not Affiliate.objects.filter(number=refused).exists()


def test_batches_report_progress_and_are_written_as_they_go(tmp_path):
    # given five rows synced in batches of two
    rows = [affiliate_row() for _ in range(5)]
    seen = []

    # when the sync runs with a progress callback
    result = sync_csv(
        tmp_path,
        rows,
        batch_size=2,
        progress=lambda processed: seen.append((processed, Affiliate.objects.count())),
    )

    # then each batch is already in the database when its progress is reported
    assert result.created == 5
    assert seen == [(2, 2), (4, 4), (5, 5)]


# --- Loans -------------------------------------------------------------------------------------


def loans_of(number: str) -> list[tuple]:
    return list(
        AffiliateLoan.objects.filter(affiliate__number=number)
        .order_by("product_code", "balance")
        .values_list(
            "product_code",
            "original_amount",
            "balance",
            "installments_paid",
            "installments_total",
            "quincenal_payment",
        )
    )


def test_a_loans_file_gives_each_affiliate_exactly_its_loans(tmp_path):
    # given two affiliates, the first with two loans and the second with none
    with_loans, without = affiliate_row(), affiliate_row()
    number = with_loans["numero_afiliacion"]
    loans = [loan_row(number), loan_row(number, clave_producto="pe", saldo="9000.50")]

    # when they are synced with the loans file
    result = sync_csv(tmp_path, [with_loans, without], loans)

    # then the loans are stored with every field, and the other affiliate has none
    assert result.loans_rejected == []
    assert result.loans_replaced == 2
    assert loans_of(number) == [
        ("PC", Decimal("40000.00"), Decimal("22000.00"), 30, 72, Decimal("615.20")),
        ("PE", Decimal("40000.00"), Decimal("9000.50"), 30, 72, Decimal("615.20")),
    ]
    assert loans_of(without["numero_afiliacion"]) == []


def test_unchanged_loans_are_not_rewritten_and_changed_loans_are_replaced(tmp_path):
    # given an affiliate with a loan, synced
    row = affiliate_row()
    number = row["numero_afiliacion"]
    sync_csv(tmp_path, [row], [loan_row(number)])
    first_id = AffiliateLoan.objects.get().pk

    # when the same files are synced again
    again = sync_csv(tmp_path, [row], [loan_row(number)])

    # then the loan row is the same one
    assert (again.updated, again.unchanged, again.loans_replaced) == (0, 1, 0)
    assert AffiliateLoan.objects.get().pk == first_id

    # when the balance changes after a payment
    paid = sync_csv(tmp_path, [row], [loan_row(number, saldo="21384.80", pagos_realizados="31")])

    # then the affiliate counts as updated and holds the new balance only
    assert (paid.updated, paid.unchanged) == (1, 0)
    assert loans_of(number) == [
        ("PC", Decimal("40000.00"), Decimal("21384.80"), 31, 72, Decimal("615.20"))
    ]


def test_an_affiliate_without_loan_rows_ends_with_no_loans(tmp_path):
    # given an affiliate with a loan in the portal
    row = affiliate_row()
    sync_csv(tmp_path, [row], [loan_row(row["numero_afiliacion"])])

    # when the loans file no longer lists it (paid off)
    result = sync_csv(tmp_path, [row], [])

    # then the affiliate has no loans
    assert result.updated == 1
    assert loans_of(row["numero_afiliacion"]) == []


def test_without_a_loans_file_loans_are_left_alone(tmp_path):
    # given an affiliate with a loan in the portal
    row = affiliate_row()
    sync_csv(tmp_path, [row], [loan_row(row["numero_afiliacion"])])

    # when only the affiliates file is synced
    result = sync_csv(tmp_path, [row])

    # then the loan is still there
    assert result.unchanged == 1
    assert len(loans_of(row["numero_afiliacion"])) == 1


def test_bad_loan_rows_are_rejected_and_leave_that_affiliates_loans_as_they_were(tmp_path):
    # given an affiliate with a loan, synced, and a rejected affiliate row
    kept, broken = affiliate_row(), affiliate_row(nombre="")
    number = kept["numero_afiliacion"]
    sync_csv(tmp_path, [kept], [loan_row(number)])

    # when a loans file brings for it one good row and one with more payments than the term,
    # plus rows for an unknown number, a negative amount, and the rejected affiliate
    loans = [
        loan_row(number, saldo="1.00"),  # line 2
        loan_row(number, pagos_realizados="80"),  # line 3
        loan_row("999999"),  # line 4
        loan_row(number, monto_original="-5.00"),  # line 5
        loan_row(broken["numero_afiliacion"]),  # line 6
    ]
    result = sync_csv(tmp_path, [kept, broken], loans)

    # then every loan row not applied is reported with its line, prefixed in the JSON
    assert result.as_json()["rejected"] == [
        {"row": 3, "reason": "falta el nombre"},
        {
            "row": 2,
            "reason": f"préstamos: no se actualizaron los préstamos del afiliado {number} "
            "porque su fila 3 del archivo de préstamos fue rechazada",
        },
        {
            "row": 3,
            "reason": "préstamos: los pagos realizados (80) superan los pagos totales (72)",
        },
        {
            "row": 4,
            "reason": "préstamos: el número de afiliación 999999 no está entre los afiliados "
            "de esta sincronización",
        },
        {"row": 5, "reason": "préstamos: monto negativo en monto_original"},
        {
            "row": 6,
            "reason": f"préstamos: el afiliado {broken['numero_afiliacion']} fue rechazado en "
            "esta sincronización; sus préstamos no se actualizaron",
        },
    ]
    # and the affiliate keeps the loan it had: a partial list would understate the debt
    assert loans_of(number) == [
        ("PC", Decimal("40000.00"), Decimal("22000.00"), 30, 72, Decimal("615.20"))
    ]


# --- The command -------------------------------------------------------------------------------


def run_command(*args, **options) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("sync_affiliates", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_the_command_prints_one_json_object_and_progress_on_stderr(tmp_path, monkeypatch):
    # given a file with two good rows and a bad one, and progress every two rows
    monkeypatch.setattr(command_module, "PROGRESS_EVERY", 2)
    rows = [affiliate_row(), affiliate_row(estatus="xyz"), affiliate_row()]
    path = write_csv(tmp_path / "afiliados.csv", rows)

    # when the command runs with --json
    out, err = run_command("--csv", str(path), "--json")

    # then stdout is exactly the JSON contract and the progress went to stderr
    assert out.count("\n") == 1
    assert json.loads(out) == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": [
            {
                "row": 3,
                "reason": "estatus desconocido: 'xyz' (se espera activo, pensionado, jubilado "
                "o baja)",
            }
        ],
    }
    assert "Procesadas 3 filas…" in err


def test_the_command_prints_a_spanish_summary_with_the_rejected_rows(tmp_path):
    # given affiliates and loans files with one bad row each
    good = affiliate_row()
    rows = [good, affiliate_row(nombre="")]
    path = write_csv(tmp_path / "afiliados.csv", rows)
    loans = write_loans_csv(
        tmp_path / "prestamos.csv",
        [loan_row(good["numero_afiliacion"]), loan_row("424242")],
    )

    # when the command runs without --json
    out, _ = run_command("--csv", str(path), "--loans-csv", str(loans))

    # then the person reads the counts and each rejected row
    assert f"Sincronización desde el archivo {path} terminada." in out
    assert "Nuevos:       1" in out
    assert "Rechazados:   1" in out
    assert "  fila 3: falta el nombre" in out
    assert (
        "  fila 3: el número de afiliación 424242 no está entre los afiliados de esta "
        "sincronización"
    ) in out
    assert len(loans_of(good["numero_afiliacion"])) == 1


def test_a_utf8_file_with_a_byte_order_mark_is_read(tmp_path):
    # given a file saved by a spreadsheet as "CSV UTF-8", with a BOM
    row = affiliate_row(municipio="Pénjamo")
    path = write_csv(tmp_path / "afiliados.csv", [row], encoding="utf-8-sig")

    # when it is synced through the command
    out, _ = run_command("--csv", str(path), "--json")

    # then the header is recognised and the accents are intact
    assert json.loads(out)["created"] == 1
    assert Affiliate.objects.get().municipality == "Pénjamo"


def test_a_missing_file_is_a_command_error_in_spanish(tmp_path):
    # when the command is given a file that does not exist
    missing = tmp_path / "no-existe.csv"
    with pytest.raises(CommandError) as error:
        run_command("--csv", str(missing), "--json")

    # then the operator reads why
    assert str(error.value) == f"No se pudo leer el archivo {missing}: no existe."


def test_a_missing_file_exits_with_code_1_and_no_traceback(tmp_path):
    # when the command runs from the shell with a missing file (in a process of its own:
    # run_from_argv closes every database connection, the test's included)
    completed = subprocess.run(  # noqa: S603  # our own manage.py, no shell
        [
            sys.executable,
            str(Path(settings.BASE_DIR) / "manage.py"),
            "sync_affiliates",
            "--csv",
            str(tmp_path / "x.csv"),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "DJANGO_DEBUG": "1"},
    )

    # then it exits with 1, a one-line error and nothing on stdout
    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr == (
        f"CommandError: No se pudo leer el archivo {tmp_path / 'x.csv'}: no existe.\n"
    )


def test_a_file_not_in_utf8_is_refused_before_anything_is_written(tmp_path):
    # given a file saved as Latin-1 (Excel's "CSV" on Windows), whose first accent is the "é"
    # of Pénjamo on line 3
    rows = [
        affiliate_row(dependencia="Gobierno del Estado"),
        affiliate_row(dependencia="Gobierno del Estado", municipio="Pénjamo"),
    ]
    path = write_csv(tmp_path / "afiliados.csv", rows, encoding="latin-1")
    column = path.read_bytes().splitlines()[2].index("P\xe9njamo".encode("latin-1")) + 2

    # when it is synced
    with pytest.raises(CommandError) as error:
        run_command("--csv", str(path))

    # then the operator is told what to do, and no row was loaded
    assert str(error.value) == (
        f"El archivo {path} no está codificado en UTF-8 (línea 3, columna {column}). "
        "Guárdelo como «CSV UTF-8» e intente de nuevo."
    )
    assert not Affiliate.objects.exists()


def test_a_file_with_other_columns_is_refused(tmp_path):
    # given a file whose header misspells a column and lacks another
    path = tmp_path / "afiliados.csv"
    header = [*AFFILIATE_COLUMNS[:-1], "bloqeado"]
    path.write_text(",".join(header) + "\n", encoding="utf-8")

    # when it is synced
    with pytest.raises(CommandError) as error:
        run_command("--csv", str(path))

    # then the message names both problems
    assert str(error.value) == (
        f"Las columnas del archivo {path} no son las esperadas: faltan descuentos_quincenales; "
        "no se reconocen 'bloqeado'."
    )


def test_a_loans_file_alone_is_refused(tmp_path):
    # when only --loans-csv is given
    with pytest.raises(CommandError) as error:
        run_command("--loans-csv", str(tmp_path / "prestamos.csv"))

    # then the operator learns it needs --csv
    assert str(error.value).startswith("--loans-csv solo se acepta junto con --csv")


def test_the_help_documents_the_optional_blocked_columns():
    # when the operator asks for help
    parser = command_module.Command().create_parser("manage.py", "sync_affiliates")

    # then the optional columns and their default are explained
    help_text = " ".join(parser.format_help().split())
    assert "bloqueado, motivo_bloqueo" in help_text
    assert "queda no bloqueado" in help_text


def test_synced_at_is_timezone_aware(tmp_path):
    # when a file is synced, then the confirmation time is an aware datetime close to now
    result = sync_csv(tmp_path, [affiliate_row()])
    assert result.synced_at.tzinfo is not None
    assert abs(result.synced_at - datetime.now(tz=UTC)) < timedelta(minutes=1)
