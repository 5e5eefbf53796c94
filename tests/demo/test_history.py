"""`seed_demo --full`: a program history at the real program's scale, whose figures on the
dashboard fall where the real program's did.

Seeding the history takes some fifteen seconds, so the module's tests share one seeding (see
`seeded_history`)."""

from collections.abc import Iterator
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from loans.models import ApplicationEvent, LoanApplication
from surveys.models import Response
from tests.dashboard.tables import DASHBOARD, screen_tables
from tests.demo.seeding import seed, seeded_for_a_while

# One seeding for the module: its tests run in one process when the suite runs in several.
pytestmark = [pytest.mark.django_db, pytest.mark.xdist_group("seeded_history")]


@pytest.fixture(scope="module")
def seeded_history(
    django_db_setup, django_db_blocker, demo_pki, demo_seal_pkcs12, tmp_path_factory
) -> Iterator[str]:
    """The output of one `seed_demo --full --no-applications`, whose writes last for the tests
    of the module."""
    directory = tmp_path_factory.mktemp("seeded_history")
    options = ("--full", "--no-applications")
    with seeded_for_a_while(django_db_blocker, directory, demo_seal_pkcs12, *options) as output:
        yield output


def _number(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", "").replace(" %", ""))


def test_the_full_demo_has_the_real_program_s_figures(seeded_history, manager):
    output = seeded_history

    assert "1187 solicitudes, 456 pagadas" in output
    tables = screen_tables(manager.get(DASHBOARD))
    summary = dict(tables["resumen"][1:])
    assert summary["Solicitudes recibidas"] == "1,187"
    assert summary["Préstamos pagados"] == "456"
    assert Decimal("27300000") < _number(summary["Monto pagado"]) < Decimal("27500000")
    assert summary["Tasa anual promedio ponderada por monto (pagados)"] == "13.67 %"
    assert (
        Decimal("57")
        <= _number(summary["Plazo promedio ponderado por monto (quincenas, pagados)"])
        <= Decimal("61")
    )
    satisfaction = dict(tables["satisfaccion"][1:])
    assert satisfaction["Satisfechos (4 o 5 de 5)"] == "98.8 %"
    assert satisfaction["Respuestas después del pago"] == "172"
    # Six months of history, each with applications received in it.
    months = tables["meses"][1:]
    assert len(months) >= 6
    assert all(int(row[1].replace(",", "")) > 0 for row in months)
    assert sum(int(row[1].replace(",", "")) for row in months) == 1187

    # Every event of the history is in the audit chain, which still verifies.
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert f"{ApplicationEvent.objects.count()} eventos verificados" in out.getvalue()


def test_seeding_the_full_demo_again_changes_nothing(seeded_history):
    counts = (LoanApplication.objects.count(), Response.objects.count())

    output = seed("--full", "--no-applications")

    assert "Ya estaba creada" in output
    assert (LoanApplication.objects.count(), Response.objects.count()) == counts
