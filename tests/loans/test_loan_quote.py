"""`manage.py loan_quote`: the quote as JSON for scripts, as a table for people, and exit code 2
with a Spanish message for arguments it cannot use."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

EXAMPLE_ARGS = ("--amount", "60000", "--rate", "13.67", "--quincenas", "59")


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("loan_quote", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def run_in_shell(*args: str) -> subprocess.CompletedProcess:
    # In a process of its own, as an operator or a script runs it: the surest exit code.
    return subprocess.run(  # noqa: S603 - our own manage.py, no shell
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "loan_quote", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "DJANGO_DEBUG": "1"},
    )


def test_the_json_of_the_reference_example_has_every_figure_as_text():
    # when the typical loan is quoted as JSON
    quote = json.loads(run_command(*EXAMPLE_ARGS, "--json"))

    # then amounts are strings with two decimals, the CAT one with one, counts are integers
    schedule = quote.pop("schedule")
    assert quote == {
        "amount": "60000.00",
        "annual_rate": "13.67",
        "quincenas": 59,
        "convention": "nominal",
        "payment": "1200.24",
        "total_interest": "10814.37",
        "total_fund": "0.00",
        "total_paid": "70814.37",
        "cat": "14.6",
    }
    assert len(schedule) == 59
    assert [*schedule[:3], schedule[-1]] == [
        {
            "n": 1,
            "payment": "1200.24",
            "interest": "341.75",
            "principal": "858.49",
            "fund": "0.00",
            "balance": "59141.51",
        },
        {
            "n": 2,
            "payment": "1200.24",
            "interest": "336.86",
            "principal": "863.38",
            "fund": "0.00",
            "balance": "58278.13",
        },
        {
            "n": 3,
            "payment": "1200.24",
            "interest": "331.94",
            "principal": "868.30",
            "fund": "0.00",
            "balance": "57409.83",
        },
        {
            "n": 59,
            "payment": "1200.45",
            "interest": "6.80",
            "principal": "1193.65",
            "fund": "0.00",
            "balance": "0.00",
        },
    ]


def test_the_fund_rate_is_a_yearly_percentage_of_the_amount():
    # when the fund takes 1 % a year and the convention is effective
    quote = json.loads(
        run_command(*EXAMPLE_ARGS, "--fund-rate", "1", "--convention", "effective", "--json")
    )

    # then $600.00 is charged with quincenas 1, 25 and 49 and the figures follow
    assert quote["convention"] == "effective"
    assert quote["payment"] == "1188.68"
    assert quote["total_fund"] == "1800.00"
    assert [row["n"] for row in quote["schedule"] if row["fund"] != "0.00"] == [1, 25, 49]
    assert {row["fund"] for row in quote["schedule"] if row["n"] in (1, 25, 49)} == {"600.00"}
    assert quote["total_paid"] == "71931.77"


def test_without_json_a_person_reads_a_spanish_table_and_the_cat_legend():
    # when the typical loan is quoted without --json
    output = run_command(*EXAMPLE_ARGS)

    # then the summary, one row per quincena and the legend are shown
    lines = output.splitlines()
    assert "  Pago quincenal:       $1,200.24 (el último: $1,200.45)" in lines
    assert "  Intereses:            $10,814.37" in lines
    assert "  CAT:                  14.6 %" in lines
    assert lines[-1] == "CAT sin IVA. Para fines informativos y de comparación."
    first_row = next(line for line in lines if line.split()[:1] == ["1"])
    assert first_row.split() == ["1", "1,200.24", "341.75", "858.49", "0.00", "59,141.51"]


def test_a_script_gets_the_json_from_the_shell_with_exit_code_0():
    completed = run_in_shell(*EXAMPLE_ARGS, "--json")

    assert completed.returncode == 0
    assert json.loads(completed.stdout)["cat"] == "14.6"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--amount", "sesenta mil", "--rate", "13.67", "--quincenas", "59"),
            "El monto (--amount) debe ser un número con punto decimal, sin comas ni símbolos, "
            "p. ej. 60000.00; se recibió «sesenta mil».",
        ),
        (
            ("--amount", "60,000", "--rate", "13.67", "--quincenas", "59"),
            "El monto (--amount) debe ser un número con punto decimal, sin comas ni símbolos, "
            "p. ej. 60000.00; se recibió «60,000».",
        ),
        (
            ("--amount", "-60000", "--rate", "13.67", "--quincenas", "59"),
            "El monto (--amount) no admite valores negativos; se recibió «-60000».",
        ),
        (
            ("--amount", "0", "--rate", "13.67", "--quincenas", "59"),
            "El monto (--amount) debe ser mayor que cero.",
        ),
        (
            ("--amount", "60000.001", "--rate", "13.67", "--quincenas", "59"),
            "El monto (--amount) admite a lo más dos decimales; se recibió «60000.001».",
        ),
        (
            ("--amount", "60000", "--rate", "abc", "--quincenas", "59"),
            "La tasa anual (--rate) debe ser un número con punto decimal, sin comas ni "
            "símbolos, p. ej. 13.67; se recibió «abc».",
        ),
        (
            ("--amount", "60000", "--rate", "-1", "--quincenas", "59"),
            "La tasa anual (--rate) no admite valores negativos; se recibió «-1».",
        ),
        (
            ("--amount", "60000", "--rate", "13.675", "--quincenas", "59"),
            "La tasa anual (--rate) admite a lo más dos decimales; se recibió «13.675».",
        ),
        (
            ("--amount", "60000", "--rate", "101", "--quincenas", "59"),
            "La tasa de interés anual no puede pasar de 100 %.",
        ),
        (
            ("--amount", "60000", "--rate", "13.67", "--quincenas", "0"),
            "El plazo (--quincenas) debe ser de al menos una quincena; se recibió «0».",
        ),
        (
            ("--amount", "60000", "--rate", "13.67", "--quincenas", "-3"),
            "El plazo (--quincenas) debe ser de al menos una quincena; se recibió «-3».",
        ),
        (
            ("--amount", "60000", "--rate", "13.67", "--quincenas", "59.5"),
            "El plazo (--quincenas) debe ser un número entero de quincenas, p. ej. 59; se "
            "recibió «59.5».",
        ),
        (
            ("--amount", "60000", "--rate", "13.67", "--quincenas", "5000"),
            "El plazo no puede pasar de 960 quincenas.",
        ),
        (
            (*EXAMPLE_ARGS, "--fund-rate", "-1"),
            "La aportación anual al fondo (--fund-rate) no admite valores negativos; se "
            "recibió «-1».",
        ),
        (
            (*EXAMPLE_ARGS, "--convention", "compuesta"),
            "La convención (--convention) debe ser nominal o effective; se recibió «compuesta».",
        ),
        (
            ("--rate", "13.67", "--quincenas", "59"),
            "Falta el argumento --amount (el monto).",
        ),
        (
            ("--amount", "60000", "--quincenas", "59"),
            "Falta el argumento --rate (la tasa anual).",
        ),
        (
            ("--amount", "60000", "--rate", "13.67"),
            "Falta el argumento --quincenas (el plazo en quincenas).",
        ),
    ],
)
def test_a_bad_argument_is_a_usage_error_in_spanish(args, message):
    # when the command is given an argument it cannot use
    with pytest.raises(CommandError) as error:
        run_command(*args, "--json")

    # then the operator reads why, and the shell would get exit code 2
    assert str(error.value) == message
    assert error.value.returncode == 2


def test_a_bad_argument_exits_from_the_shell_with_code_2_and_only_the_message():
    completed = run_in_shell("--amount", "sesenta mil", "--rate", "13.67", "--quincenas", "59")

    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr == (
        "CommandError: El monto (--amount) debe ser un número con punto decimal, sin comas ni "
        "símbolos, p. ej. 60000.00; se recibió «sesenta mil».\n"
    )


def test_an_unknown_option_is_refused_by_argparse_with_code_2():
    completed = run_in_shell(*EXAMPLE_ARGS, "--plazo", "59")

    assert completed.returncode == 2
    assert completed.stdout == ""
    assert "unrecognized arguments: --plazo 59" in completed.stderr
