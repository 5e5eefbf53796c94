"""Gerencia no longer sees individuals' applications, payments or affiliate records (their
CLABE, phone, email and salary): it keeps the products, the dashboard and the questionnaires.
Only these permissions are taken away; whatever else the group was given stays."""

from django.db import migrations

from isseg_portal.staff_permissions import group_permissions_add, group_permissions_remove
MANAGER_GROUP = "Gerencia"
# What Gerencia had until now (given back if the migration is reversed).
MANAGER_PERSONAL_DATA = [
    "loans.view_loanapplication",
    "loans.view_payment",
    "affiliates.view_affiliate",
]


def _by_app() -> dict[str, list[str]]:
    by_app: dict[str, list[str]] = {}
    for dotted in MANAGER_PERSONAL_DATA:
        app_label, codename = dotted.split(".")
        by_app.setdefault(app_label, []).append(codename)
    return by_app


def take_away(apps, schema_editor):
    for app_label, codenames in _by_app().items():
        group_permissions_remove(
            apps, group=MANAGER_GROUP, app_label=app_label, codenames=codenames
        )


def give_back(apps, schema_editor):
    for app_label, codenames in _by_app().items():
        group_permissions_add(apps, group=MANAGER_GROUP, app_label=app_label, codenames=codenames)


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0014_application_clabe_shared_confirmed"),
        ("loans", "0006_staff_groups"),
        ("affiliates", "0001_initial"),
    ]

    operations = [migrations.RunPython(take_away, give_back)]
