"""The Gerencia group sees the dashboard (`loans.staff_groups` creates the group and knows
nothing of the dashboard). The data migration 0002 calls this, and so do tests that emptied the
database."""

from isseg_portal.staff_permissions import group_permissions_add

MANAGER_GROUP = "Gerencia"
PERMISSION = "view_dashboard"


def ensure_dashboard_permission(apps) -> None:
    group_permissions_add(apps, group=MANAGER_GROUP, app_label="dashboard", codenames=[PERMISSION])
