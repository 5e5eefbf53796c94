"""The dashboard's permission moved to the dashboard app (dashboard.view_dashboard, migration
dashboard 0002 grants it to Gerencia): the old one goes, and with it its grants."""

from django.db import migrations


def drop_old_permission(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(
        content_type__app_label="surveys", codename="view_dashboard"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("surveys", "0003_default_surveys")]

    operations = [
        migrations.AlterModelOptions(
            name="survey",
            options={
                "ordering": ["kind", "-version"],
                "verbose_name": "encuesta",
                "verbose_name_plural": "encuestas",
            },
        ),
        migrations.RunPython(drop_old_permission, migrations.RunPython.noop),
    ]
