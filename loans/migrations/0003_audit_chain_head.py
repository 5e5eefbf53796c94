from django.db import migrations

GENESIS_HASH = "0" * 64


def create_head(apps, schema_editor):
    # The one row every event append locks; created here so no two requests race to create it.
    AuditChainHead = apps.get_model("loans", "AuditChainHead")
    AuditChainHead.objects.get_or_create(
        pk=1, defaults={"last_sequence": 0, "last_hash": GENESIS_HASH}
    )


class Migration(migrations.Migration):
    dependencies = [("loans", "0002_applications")]

    operations = [migrations.RunPython(create_head, migrations.RunPython.noop)]
