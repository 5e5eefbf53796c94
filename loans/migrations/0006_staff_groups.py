"""The staff groups and their permissions (loans.staff_groups)."""

from django.db import migrations

from loans.staff_groups import GROUPS, ensure_staff_groups


def create_groups(apps, schema_editor):
    ensure_staff_groups(apps)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0005_staff_review_and_payment"),
        ("affiliates", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
