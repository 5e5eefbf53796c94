"""What the Gerencia group may do in the surveys app: the questionnaires.

`loans.staff_groups` creates the groups and knows nothing of surveys; this adds to Gerencia.
The data migration 0002 calls it, and so do tests that emptied the database."""

from isseg_portal.staff_permissions import group_permissions_add

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
    group_permissions_add(
        apps, group=MANAGER_GROUP, app_label="surveys", codenames=MANAGER_PERMISSIONS
    )
