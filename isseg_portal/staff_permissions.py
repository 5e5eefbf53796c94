"""Giving the staff groups their permissions from a data migration (or a test that emptied the
database), whatever the app: each app names the group and its own permissions; this knows how.

``apps`` is a migration's app registry, or Django's.
"""

from collections.abc import Iterable

from django.contrib.auth.management import create_permissions


def permissions_create(apps, app_label: str) -> None:
    """Create the app's permissions now: Django creates them after the last migration, and a
    data migration that grants them runs before."""
    config = apps.get_app_config(app_label)
    if getattr(config, "models_module", None) is None:
        # A migration's app registry: create_permissions skips apps without models.
        config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)


def group_permissions_add(apps, *, group: str, app_label: str, codenames: Iterable[str]) -> None:
    """Add these permissions of `app_label` to `group` (created if missing); others it has stay."""
    permissions_create(apps, app_label)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    granted, _created = Group.objects.get_or_create(name=group)
    granted.permissions.add(
        *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
    )


def group_permissions_remove(apps, *, group: str, app_label: str, codenames: Iterable[str]) -> None:
    """Take these permissions of `app_label` from `group`, if it exists; others it has stay."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for granted in Group.objects.filter(name=group):
        granted.permissions.remove(
            *Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
        )
