"""One transfer pays one loan: a payment's SPEI reference is unique (case aside), empty ones
apart (an earlier program's records may lack it).

Before the constraint, the payments already registered are looked at: if two share a reference
the migration stops and names them, for Tesorería to correct the wrong one first (the portal
cannot tell which loan that transfer paid)."""

from django.db import migrations, models
from django.db.models import Count, Q
from django.db.models.functions import Upper


def refuse_duplicates(apps, schema_editor):
    Payment = apps.get_model("loans", "Payment")
    repeated = (
        Payment.objects.exclude(spei_reference="")
        .annotate(key=Upper("spei_reference"))
        .values("key")
        .annotate(count=Count("pk"))
        .filter(count__gt=1)
        .values_list("key", flat=True)
    )
    if not repeated:
        return
    lines = []
    for key in repeated:
        folios = (
            Payment.objects.annotate(key=Upper("spei_reference"))
            .filter(key=key)
            .order_by("application__folio")
            .values_list("application__folio", flat=True)
        )
        lines.append(f"  {key}: {', '.join(folios)}")
    raise RuntimeError(
        "Hay pagos registrados con la misma referencia SPEI; corrige la referencia del que "
        "no corresponde antes de migrar:\n" + "\n".join(lines)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0012_audit_chain_check_tallies_to_dashboard"),
    ]

    operations = [
        migrations.RunPython(refuse_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.UniqueConstraint(
                Upper("spei_reference"),
                condition=~Q(spei_reference=""),
                name="payment_spei_reference_unique",
            ),
        ),
    ]
