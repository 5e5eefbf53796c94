"""`seed_demo --full`: a program history at the real program's scale, whose figures on the
dashboard fall where the real program's did."""

from decimal import Decimal
from io import StringIO

from django.core.management import call_command

from loans.models import ApplicationEvent, LoanApplication
from surveys.models import Response
from tests.dashboard.test_dashboard import DASHBOARD, screen_tables
from tests.demo.test_seed_demo import demo_source, seed  # noqa: F401 - a fixture


def _number(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", "").replace(" %", ""))


def test_the_full_demo_has_the_real_program_s_figures(demo_source, manager):  # noqa: F811
    output = seed("--full", "--no-applications")

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


def test_seeding_the_full_demo_again_changes_nothing(db, demo_source):  # noqa: F811
    seed("--full", "--no-applications")
    counts = (LoanApplication.objects.count(), Response.objects.count())

    output = seed("--full", "--no-applications")

    assert "Ya estaba creada" in output
    assert (LoanApplication.objects.count(), Response.objects.count()) == counts
