""" "Mi afiliación": what the portal knows of the signed-in affiliate, and refreshing it."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from affiliates.models import AffiliateStatus
from demo.institute import create_institute_database
from tests.affiliates.rows import source_row
from tests.factories import AffiliateLinkFactory, AffiliateLoanFactory

MEXICO_CITY = ZoneInfo("America/Mexico_City")


def page_url() -> str:
    return reverse("affiliates:my_affiliation")


def refresh_url() -> str:
    return reverse("affiliates:refresh")


def text(response) -> str:
    """The page as a person reads it: tags gone, entities decoded, spaces collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.DOTALL)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def months_ago(months: int) -> date:
    """The first day of the month `months` before this one, on the institute's calendar."""
    today = timezone.localdate(timezone=MEXICO_CITY)
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    return date(year, month + 1, 1)


def applicant_with(applicant, **fields):
    affiliate = applicant.affiliate
    for name, value in fields.items():
        setattr(affiliate, name, value)
    affiliate.save()
    return affiliate


# --- Who may see the page ---------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_log_in(anonymous):
    response = anonymous.get(page_url())

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert "next=" in response.url


def test_account_without_affiliation_is_sent_to_link_it(unlinked):
    response = unlinked.get(page_url(), follow=True)

    assert response.redirect_chain == [(reverse("affiliates:link"), 302)]
    assert "primero vincula tu cuenta con tus datos de afiliado" in text(response)


# --- What the page shows ----------------------------------------------------------------------


def test_applicant_sees_their_own_affiliation(applicant):
    affiliate = applicant_with(
        applicant,
        municipality="Irapuato",
        contribution_start=months_ago(15 * 12 + 3),
        base_salary=Decimal("12345.60"),
        net_pay=Decimal("9500.00"),
        current_deductions=Decimal("720.50"),
        synced_at=datetime(2026, 11, 21, 16, 32, tzinfo=UTC),
    )

    response = applicant.get(page_url())

    assert response.status_code == 200
    page = text(response)
    assert affiliate.full_name in page
    assert affiliate.number in page
    assert affiliate.curp in page
    assert affiliate.rfc in page
    assert "Estatus Activo" in page
    assert affiliate.employer.name in page
    assert "Municipio Irapuato" in page
    assert "Antigüedad 15 años y 3 meses" in page
    assert "Sueldo base quincenal $12,345.60" in page
    assert "Neto quincenal $9,500.00" in page
    assert "Descuentos quincenales al Instituto $720.50" in page
    # 16:32 UTC is 10:32 in Guanajuato (UTC-6, no daylight saving time since 2022).
    assert "Datos del Instituto al 21/11/2026 10:32" in page


@pytest.mark.parametrize(
    ("months", "shown"),
    [
        (12, "Antigüedad 1 año "),
        (1, "Antigüedad 1 mes "),
        (25, "Antigüedad 2 años y 1 mes "),
        (0, "Antigüedad menos de un mes "),
    ],
)
def test_seniority_is_written_out_in_years_and_months(applicant, months, shown):
    applicant_with(applicant, contribution_start=months_ago(months))

    page = text(applicant.get(page_url()))

    assert shown in page


def test_active_loans_are_listed_with_amounts_in_pesos(applicant):
    AffiliateLoanFactory(
        affiliate=applicant.affiliate,
        product_code="PC",
        original_amount=Decimal("40000.00"),
        balance=Decimal("22000.00"),
        installments_paid=30,
        installments_total=72,
        quincenal_payment=Decimal("720.50"),
    )

    response = applicant.get(page_url())

    html = response.content.decode()
    assert "<caption>Préstamos vigentes con el Instituto</caption>" in html
    assert '<th scope="col"' in html
    assert '<th scope="row">PC</th>' in html
    page = text(response)
    assert "PC $40,000.00 $22,000.00 30 de 72 $720.50" in page
    assert "No tienes préstamos vigentes" not in page


def test_without_loans_the_page_says_so(applicant):
    response = applicant.get(page_url())

    assert "No tienes préstamos vigentes con el Instituto." in text(response)
    assert "<table" not in response.content.decode()


def test_blocked_affiliation_shows_a_notice_without_the_internal_reason(applicant):
    applicant_with(applicant, is_blocked=True, blocked_reason="Adeudo vencido con el Instituto")

    page = text(applicant.get(page_url()))

    assert "Tu afiliación tiene una restricción" in page
    assert "Adeudo vencido" not in page


def test_terminated_affiliation_is_told_it_cannot_apply(applicant):
    applicant_with(applicant, status=AffiliateStatus.TERMINATED)

    page = text(applicant.get(page_url()))

    assert "Estatus Baja" in page
    assert "Tu afiliación aparece dada de baja" in page


def test_the_page_never_shows_another_affiliates_data(applicant, other_applicant):
    other = other_applicant.affiliate
    AffiliateLoanFactory(affiliate=other, product_code="OTRO", balance=Decimal("31313.13"))

    page = text(applicant.get(page_url()))

    assert applicant.affiliate.curp in page
    for value in (other.curp, other.rfc, other.number, other.full_name, "OTRO", "$31,313.13"):
        assert value not in page


# --- Refresh from the institute --------------------------------------------------------------


def test_refresh_only_acts_on_post(applicant):
    response = applicant.get(refresh_url())

    assert response.status_code == 405


def test_anonymous_cannot_refresh(anonymous):
    response = anonymous.post(refresh_url())

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_account_without_affiliation_is_sent_to_link_it_before_refreshing(unlinked):
    response = unlinked.post(refresh_url())

    assert response.status_code == 302
    assert response.url == reverse("affiliates:link")


@pytest.fixture
def institute_source(settings, tmp_path):
    """Point the portal at a real sqlite3 institute database in tmp_path; return its builder."""
    path = tmp_path / "institute.sqlite3"
    settings.AFFILIATES_SOURCE = {**settings.AFFILIATES_SOURCE, "DRIVER": "sqlite3", "DSN": path}

    def build(affiliate_rows, loan_rows=()):
        return create_institute_database(path, affiliate_rows, loan_rows)

    return build


def test_refresh_brings_the_institutes_current_data(applicant, other_applicant, institute_source):
    # Given an institute database where the applicant's pay and loans changed
    affiliate = applicant_with(applicant, synced_at=datetime(2026, 1, 5, 18, 0, tzinfo=UTC))
    other = other_applicant.affiliate
    other_municipality = other.municipality
    institute_source(
        [
            source_row(affiliate, municipio="Salamanca", sueldo_base_quincenal="11000.00"),
            source_row(other, municipio="León"),
        ],
        [
            {
                "numero_afiliacion": affiliate.number,
                "clave_producto": "PE",
                "monto_original": "15000.00",
                "saldo": "9000.00",
                "pagos_realizados": "12",
                "pagos_totales": "48",
                "pago_quincenal": "390.63",
            }
        ],
    )

    # When the applicant asks for fresh data
    response = applicant.post(refresh_url(), follow=True)

    # Then the page shows them, with the date of this refresh
    assert response.redirect_chain == [(page_url(), 302)]
    page = text(response)
    assert "Tus datos se actualizaron con la información del Instituto." in page
    assert "Municipio Salamanca" in page
    assert "Sueldo base quincenal $11,000.00" in page
    assert "PE $15,000.00 $9,000.00 12 de 48 $390.63" in page
    assert "Datos del Instituto al 05/01/2026 12:00" not in page
    affiliate.refresh_from_db()
    assert affiliate.municipality == "Salamanca"
    assert affiliate.synced_at > datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
    # Only the applicant's own row was refreshed.
    other.refresh_from_db()
    assert other.municipality == other_municipality


def test_when_the_source_is_down_the_last_known_data_stay_with_their_date(
    applicant, settings, tmp_path
):
    # Given an institute database that cannot be reached
    settings.AFFILIATES_SOURCE = {
        **settings.AFFILIATES_SOURCE,
        "DRIVER": "sqlite3",
        "DSN": str(tmp_path / "no-such-database.sqlite3"),
    }
    affiliate = applicant_with(
        applicant,
        municipality="Celaya",
        synced_at=datetime(2026, 11, 21, 16, 32, tzinfo=UTC),
    )

    # When the applicant asks for fresh data
    response = applicant.post(refresh_url(), follow=True)

    # Then a warning says so, with the date of the data still shown
    assert response.redirect_chain == [(page_url(), 302)]
    page = text(response)
    assert "No pudimos consultar la base de datos del Instituto" in page
    assert "21/11/2026 10:32" in page
    assert "Datos del Instituto al 21/11/2026 10:32" in page
    assert "Municipio Celaya" in page
    assert "Tus datos se actualizaron" not in page
    html = response.content.decode()
    assert "notice--warning" in html
    affiliate.refresh_from_db()
    assert affiliate.synced_at == datetime(2026, 11, 21, 16, 32, tzinfo=UTC)


def test_refresh_without_a_csrf_token_is_refused(db):
    link = AffiliateLinkFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(link.user)

    response = client.post(refresh_url())

    assert response.status_code == 403
