"""What the Gerencia group may do in the surveys app: the questionnaires.

`loans.staff_groups` creates the groups and knows nothing of surveys; this adds to Gerencia.
The data migration 0002 calls it, and so do tests that emptied the database."""

from django.contrib.auth.management import create_permissions

MANAGER_GROUP = "Gerencia"
MANAGER_PERMISSIONS = [
    "view_survey",
    "add_survey",
    "change_survey",
    "view_question",
    "add_question",
    "change_question",
    "delete_question",
    "view_invitation",
]


def ensure_manager_permissions(apps) -> None:
    config = apps.get_app_config("surveys")
    if getattr(config, "models_module", None) is None:
        # A migration's app registry: create_permissions skips apps without models.
        config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.get_or_create(name=MANAGER_GROUP)
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="surveys", codename__in=MANAGER_PERMISSIONS
        )
    )
