"""The Gerencia group sees the dashboard (`loans.staff_groups` creates the group and knows
nothing of the dashboard). The data migration 0002 calls this, and so do tests that emptied the
database."""

from django.contrib.auth.management import create_permissions

MANAGER_GROUP = "Gerencia"
PERMISSION = "view_dashboard"


def ensure_dashboard_permission(apps) -> None:
    config = apps.get_app_config("dashboard")
    if getattr(config, "models_module", None) is None:
        # A migration's app registry: create_permissions skips apps without models.
        config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.get_or_create(name=MANAGER_GROUP)
    group.permissions.add(
        Permission.objects.get(content_type__app_label="dashboard", codename=PERMISSION)
    )
