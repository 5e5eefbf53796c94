"""The staff groups and what each may do: Analistas, Autorizadores, Tesorería,
Gerencia. The data migration 0006 creates them; `ensure_staff_groups` is also what tests call
when a transactional test emptied the database. Running it again sets each group's permissions
to exactly these."""

from isseg_portal.staff_permissions import permissions_create

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
    # The program's figures are the dashboard's (dashboard/staff_groups.py) and its
    # questionnaires the surveys' (surveys/staff_groups.py): no individual's application,
    # payment or affiliate record, which carry their CLABE, phone, email and salary.
    "Gerencia": [
        "loans.view_loanproduct",
        "loans.view_seniorityband",
    ],
}


def ensure_staff_groups(apps) -> None:
    """Create the groups with exactly these permissions (``apps``: a migration's or Django's)."""
    for label in ("loans", "affiliates"):
        permissions_create(apps, label)
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
