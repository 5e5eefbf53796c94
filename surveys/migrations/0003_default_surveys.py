"""Version 1 of the payment and signing surveys, active (surveys.defaults)."""

from django.db import migrations

from surveys.defaults import ensure_default_surveys


def create(apps, schema_editor):
    ensure_default_surveys(apps)


class Migration(migrations.Migration):
    dependencies = [("surveys", "0002_manager_permissions")]

    # Nothing to undo: the surveys may have answers by then, and 0001 drops the tables anyway.
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
