"""The loan products admin: staff set up a product with its bands, in percentages; nobody else."""

from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission
from django.urls import reverse

from loans.models import LoanProduct
from tests.factories import UserFactory
from tests.loans.factories import LoanProductFactory

D = Decimal


def text(response) -> str:
    return unescape(response.content.decode())


def add_url() -> str:
    return reverse("admin:loans_loanproduct_add")


def changelist_url() -> str:
    return reverse("admin:loans_loanproduct_changelist")


def product_form(**overrides) -> dict:
    """What staff type to add the PC product, rates in percent, with two seniority bands."""
    data = {
        "code": "PC",
        "name": "Préstamo personal para trabajadores activos",
        "description": "Para trabajadores en activo.",
        "allowed_statuses": ["activo"],
        "annual_rate": "13.67",
        "interest_convention": "nominal",
        "fund_rate": "1",
        "min_quincenas": "24",
        "max_quincenas": "96",
        "min_amount": "5000.00",
        "max_amount": "250000.00",
        "min_seniority_months": "6",
        "max_deduction_share": "30",
        "pension_floor": "0",
        "renewal_paid_fraction": "50",
        "is_active": "on",
        "valid_from": "2026-01-01",
        "valid_until": "",
        "seniority_bands-TOTAL_FORMS": "2",
        "seniority_bands-INITIAL_FORMS": "0",
        "seniority_bands-MIN_NUM_FORMS": "0",
        "seniority_bands-MAX_NUM_FORMS": "1000",
        "seniority_bands-0-from_months": "6",
        "seniority_bands-0-salary_multiple": "2",
        "seniority_bands-1-from_months": "60",
        "seniority_bands-1-salary_multiple": "4",
    }
    data.update(overrides)
    return data


def test_staff_adds_a_product_with_its_bands_typing_percentages(staff):
    # when staff fill in the add form with 13.67 %, 1 %, 30 % and 50 %
    response = staff.post(add_url(), product_form())

    # then the product is stored with fractions and its two bands
    assert response.status_code == 302, text(response)
    product = LoanProduct.objects.get(code="PC")
    assert product.allowed_statuses == ["activo"]
    assert product.annual_rate == D("0.1367")
    assert product.fund_rate == D("0.01")
    assert product.max_deduction_share == D("0.30")
    assert product.renewal_paid_fraction == D("0.50")
    assert product.valid_from == date(2026, 1, 1)
    assert product.valid_until is None
    assert list(product.seniority_bands.values_list("from_months", "salary_multiple")) == [
        (6, D("2.00")),
        (60, D("4.00")),
    ]


def test_the_change_form_shows_percentages_and_the_help_texts(staff):
    product = LoanProductFactory(annual_rate=D("0.1367"), max_deduction_share=D("0.30"))

    response = staff.get(reverse("admin:loans_loanproduct_change", args=[product.pk]))

    html = text(response)
    assert 'name="annual_rate" value="13.67"' in html
    assert 'name="max_deduction_share" value="30"' in html
    assert "escriba 13.67 para 13.67 % anual" in html
    assert "Solo para pensionados y jubilados" in html
    assert "Rangos de antigüedad" in html


def test_saving_an_unchanged_product_changes_nothing(staff):
    product = LoanProductFactory(code="PC", annual_rate=D("0.1367"))
    url = reverse("admin:loans_loanproduct_change", args=[product.pk])
    bands = list(product.seniority_bands.order_by("from_months"))
    data = product_form(
        **{
            "seniority_bands-TOTAL_FORMS": "3",
            "seniority_bands-INITIAL_FORMS": "3",
        }
    )
    data["name"] = product.name
    data["description"] = product.description
    for index, band in enumerate(bands):
        data[f"seniority_bands-{index}-id"] = str(band.pk)
        data[f"seniority_bands-{index}-product"] = str(product.pk)
        data[f"seniority_bands-{index}-from_months"] = str(band.from_months)
        data[f"seniority_bands-{index}-salary_multiple"] = str(band.salary_multiple)

    response = staff.post(url, data)

    assert response.status_code == 302, text(response)
    product.refresh_from_db()
    assert product.annual_rate == D("0.1367")
    # The admin's history says nothing changed: percentages compare with stored fractions.
    assert LogEntry.objects.get(object_id=str(product.pk)).get_change_message() == (
        "No ha modificado ningún campo."
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("annual_rate", "136.7"), ("max_deduction_share", "-5"), ("annual_rate", "13.671234")],
)
def test_a_percentage_out_of_range_is_refused(staff, field, value):
    response = staff.post(add_url(), product_form(**{field: value}))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field]
    assert not LoanProduct.objects.exists()


def test_a_product_needs_a_status_and_only_applicant_statuses_are_offered(staff):
    response = staff.post(add_url(), product_form(allowed_statuses=[]))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["allowed_statuses"]
    assert 'value="baja"' not in text(response)
    assert not LoanProduct.objects.exists()


def test_two_bands_starting_at_the_same_month_are_refused(staff):
    response = staff.post(add_url(), product_form(**{"seniority_bands-1-from_months": "6"}))

    assert response.status_code == 200
    assert not LoanProduct.objects.exists()


def test_staff_see_rates_as_percentages_and_ranges_in_the_list(staff):
    LoanProductFactory(
        code="PC",
        annual_rate=D("0.1367"),
        min_quincenas=24,
        max_quincenas=96,
        min_amount=D("5000.00"),
        max_amount=D("250000.00"),
        valid_from=date(2026, 1, 1),
    )

    response = staff.get(changelist_url())

    html = text(response)
    assert "13.67 %" in html
    assert "24–96" in html
    assert "$5,000.00 – $250,000.00" in html
    assert "desde el 01/01/2026" in html


def test_staff_filter_products_on_offer_today(staff):
    LoanProductFactory(code="VIGENTE", valid_from=date(2025, 1, 1))
    LoanProductFactory(code="INACTIVO", valid_from=date(2025, 1, 1), is_active=False)

    response = staff.get(changelist_url(), {"vigencia": "vigente"})

    html = text(response)
    assert "VIGENTE" in html
    assert "INACTIVO" not in html


def test_staff_find_a_product_by_code(staff):
    LoanProductFactory(code="PJ", name="Préstamo para pensionados")
    LoanProductFactory(code="PE", name="Préstamo especial")

    response = staff.get(changelist_url(), {"q": "pj"})

    html = text(response)
    assert "Préstamo para pensionados" in html
    assert "Préstamo especial" not in html


def test_an_affiliate_account_cannot_add_a_product(applicant):
    response = applicant.post(add_url(), product_form())

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    assert not LoanProduct.objects.exists()


def test_anonymous_cannot_see_the_products(anonymous):
    response = anonymous.get(changelist_url())

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


@pytest.mark.django_db
def test_staff_without_the_permission_cannot_add_a_product(client):
    # given a staff account allowed only to view products
    user = UserFactory(is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_loanproduct"))
    client.force_login(user)

    response = client.post(add_url(), product_form())

    assert response.status_code == 403
    assert not LoanProduct.objects.exists()
    assert client.get(changelist_url()).status_code == 200
