"""Gerencia sees the dashboard and edits the questionnaires (surveys.staff_groups)."""

from django.db import migrations

from surveys.staff_groups import ensure_manager_permissions


def grant(apps, schema_editor):
    ensure_manager_permissions(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0001_initial"),
        ("loans", "0006_staff_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
