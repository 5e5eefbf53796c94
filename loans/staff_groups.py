"""The staff groups and what each may do: Analistas, Autorizadores, Tesorería,
Gerencia. The data migration 0006 creates them; `ensure_staff_groups` is also what tests call
when a transactional test emptied the database. Running it again sets each group's permissions
to exactly these."""

from django.contrib.auth.management import create_permissions

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


def ensure_staff_groups(apps) -> None:
    """Create the groups with exactly these permissions (``apps``: a migration's or Django's)."""
    # Permissions are normally created after the last migration; the groups need them now.
    for label in ("loans", "affiliates"):
        config = apps.get_app_config(label)
        if getattr(config, "models_module", None) is None:
            # A migration's app registry: create_permissions skips apps without models.
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
