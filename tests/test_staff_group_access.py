"""What each staff group can see in the admin: the models it may view or change, and which of
an individual's personal data (CLABE, phone, email, salary) appear on the pages it reaches.

Gerencia runs the program from its figures (the dashboard) and its questionnaires: it sees no
individual's CLABE, phone, email or salary. The other groups work on applications and see what
their work needs."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse

from affiliates.models import Affiliate, AffiliateLink
from loans.models import LoanApplication
from surveys.models import Invitation, Survey
from tests.builders import pay, signed_for
from tests.logins import linked_applicant

GROUPS = ("Analistas", "Autorizadores", "Tesorería", "Gerencia")
# The persona of tests/conftest.py in each group (a member, logged in; the fixture also puts
# the groups back if a transactional test emptied them).
PERSONAS = {
    "Analistas": "analyst",
    "Autorizadores": "authorizer",
    "Tesorería": "treasurer",
    "Gerencia": "manager",
}

# Which admin models each group may view (list and pages) and change.
VIEWS = {
    "Analistas": {"affiliates.affiliate", "loans.loanapplication", "loans.loanproduct"},
    "Autorizadores": {"affiliates.affiliate", "loans.loanapplication", "loans.loanproduct"},
    "Tesorería": {"loans.loanapplication"},
    "Gerencia": {"loans.loanproduct", "surveys.invitation", "surveys.survey"},
}
CHANGES = {
    "Analistas": set(),
    "Autorizadores": set(),
    "Tesorería": set(),
    "Gerencia": {"surveys.survey"},
}

# An individual's data, made recognisable: the applicant's contact and CLABE, the affiliate's
# own contact and salary as the institute has them.
APPLICANT_PHONE = "4731234567"
APPLICANT_EMAIL = "ana@example.org"
AFFILIATE_PHONE = "4779876543"
AFFILIATE_EMAIL = "ana.registro@example.org"
BASE_SALARY = Decimal("23456.78")
NET_PAY = Decimal("9876.54")


def salary_forms(amount: Decimal) -> tuple[str, ...]:
    """However a page may print it: 23456.78, 23456,78, 23,456.78, 23.456,78."""
    plain = f"{amount:.2f}"
    grouped = f"{amount:,.2f}"
    return (
        plain,
        plain.replace(".", ","),
        grouped,
        grouped.replace(",", "_").replace(".", ",").replace("_", "."),
    )


def personal_data(application) -> dict[str, tuple[str, ...]]:
    return {
        "CLABE": (application.clabe,),
        "teléfono": (APPLICANT_PHONE, AFFILIATE_PHONE),
        "correo": (APPLICANT_EMAIL, AFFILIATE_EMAIL),
        "sueldo": (*salary_forms(BASE_SALARY), *salary_forms(NET_PAY)),
    }


# Which personal data appear on the admin pages each group reaches.
SEES = {
    "Analistas": {"CLABE", "teléfono", "correo", "sueldo"},
    "Autorizadores": {"CLABE", "teléfono", "correo", "sueldo"},
    "Tesorería": {"CLABE", "teléfono", "correo", "sueldo"},
    "Gerencia": set(),
}


def member_of(request, group: str):
    """The persona of `group` (a member of that group only), logged in."""
    return request.getfixturevalue(PERSONAS[group])


@pytest.mark.parametrize("group", GROUPS)
def test_each_group_views_and_changes_only_its_admin_models(group, request):
    admin_request = RequestFactory().get("/admin/")
    admin_request.user = member_of(request, group).user

    viewable = {
        model._meta.label_lower
        for model, model_admin in admin.site._registry.items()
        if model_admin.has_view_permission(admin_request)
    }
    changeable = {
        model._meta.label_lower
        for model, model_admin in admin.site._registry.items()
        if model_admin.has_change_permission(admin_request)
    }

    assert viewable == VIEWS[group]
    assert changeable == CHANGES[group]


@pytest.fixture
def paid_world(analyst, authorizer, treasurer):
    """A paid application whose applicant and affiliate have recognisable personal data, with
    its survey invitation."""
    client = linked_applicant()
    Affiliate.objects.filter(pk=client.affiliate.pk).update(
        phone=AFFILIATE_PHONE,
        email=AFFILIATE_EMAIL,
        base_salary=BASE_SALARY,
        net_pay=NET_PAY,
    )
    client.affiliate.refresh_from_db()
    application = signed_for(client)
    pay(application, analyst=analyst, authorizer=authorizer, treasurer=treasurer)
    application.refresh_from_db()
    return application


def pages_of(application) -> list[str]:
    """Every admin page of the world: the index, each model's list and its object's page."""
    objects = {
        LoanApplication: application,
        Affiliate: application.affiliate,
        AffiliateLink: AffiliateLink.objects.filter(affiliate=application.affiliate).first(),
        Invitation: Invitation.objects.filter(application=application).first(),
        Survey: Survey.objects.first(),
    }
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        base = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        try:
            urls.append(reverse(f"{base}_changelist"))
        except NoReverseMatch:
            continue
        instance = objects.get(model) or model._default_manager.first()
        if instance is not None:
            urls.append(reverse(f"{base}_change", args=[instance.pk]))
    return urls


@pytest.mark.parametrize("group", GROUPS)
def test_the_personal_data_each_group_sees_in_the_admin(paid_world, group, request):
    client = member_of(request, group)
    found: set[str] = set()
    reached = []
    for url in pages_of(paid_world):
        response = client.get(url)
        if response.status_code != 200:
            continue
        reached.append(url)
        html = response.content.decode()
        for name, values in personal_data(paid_world).items():
            if any(value in html for value in values):
                found.add(name)

    assert reached  # at least the admin's index
    assert found == SEES[group], f"{group} ve {sorted(found)} en {reached}"


def test_gerencia_keeps_the_dashboard_and_the_questionnaires(manager):
    assert manager.get(reverse("dashboard:dashboard")).status_code == 200
    assert manager.get(reverse("admin:surveys_survey_changelist")).status_code == 200
    assert manager.get(reverse("admin:loans_loanproduct_changelist")).status_code == 200
    for name in (
        "admin:loans_loanapplication_changelist",
        "admin:affiliates_affiliate_changelist",
    ):
        assert manager.get(reverse(name)).status_code == 403


def test_the_migration_takes_only_those_permissions_from_an_existing_gerencia(manager):
    import importlib

    from django.apps import apps
    from django.contrib.auth.models import Permission

    migration = importlib.import_module("loans.migrations.0015_gerencia_without_personal_data")
    gerencia = Group.objects.get(name="Gerencia")
    # The group as the earlier migrations left it, plus a permission given by hand.
    personal = Permission.objects.filter(
        content_type__app_label__in=["loans", "affiliates"],
        codename__in=["view_loanapplication", "view_payment", "view_affiliate"],
    )
    gerencia.permissions.add(*personal, Permission.objects.get(codename="view_employer"))
    before = set(gerencia.permissions.values_list("codename", flat=True))

    migration.take_away(apps, None)

    after = set(gerencia.permissions.values_list("codename", flat=True))
    assert before - after == {"view_loanapplication", "view_payment", "view_affiliate"}
    assert {"view_employer", "view_dashboard", "view_survey", "view_loanproduct"} <= after

    migration.give_back(apps, None)
    assert set(gerencia.permissions.values_list("codename", flat=True)) == before
