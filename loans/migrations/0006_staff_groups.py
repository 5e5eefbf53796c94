"""The staff groups and what each may do (issue 5): Analistas, Autorizadores, Tesorería,
Gerencia. Re-running sets each group's permissions to exactly these."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = {
    "Analistas": [
        "loans.review_loanapplication",
        "loans.view_loanapplication",
        "loans.view_supportingdocument",
        "loans.view_loanproduct",
        "affiliates.view_affiliate",
    ],
    "Autorizadores": [
        "loans.approve_loanapplication",
        "loans.view_loanapplication",
        "loans.view_supportingdocument",
        "loans.view_loanproduct",
        "affiliates.view_affiliate",
    ],
    "Tesorería": [
        "loans.pay_loanapplication",
        "loans.view_loanapplication",
        "loans.view_payment",
    ],
    "Gerencia": [
        "loans.view_loanapplication",
        "loans.view_loanproduct",
        "loans.view_seniorityband",
        "loans.view_payment",
        "affiliates.view_affiliate",
    ],
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after the last migration; the groups need them now.
    for label in ("loans", "affiliates"):
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _created = Group.objects.get_or_create(name=name)
        permissions = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            permissions.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(permissions)


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
