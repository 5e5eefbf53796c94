from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from affiliates.identifiers import validate_curp, validate_rfc
from affiliates.models import Affiliate, AffiliateLink, AffiliateLoan, AffiliateStatus, Employer
from loans.models import LoanProduct, SeniorityBand


@pytest.fixture
def demo_source(settings, tmp_path, demo_pki):
    # demo_pki: the demo e.firmas are issued by the test session's PKI, not in var/.
    settings.AFFILIATES_SOURCE = {
        **settings.AFFILIATES_SOURCE,
        "DRIVER": "sqlite3",
        "DSN": str(tmp_path / "institute_demo.sqlite3"),
    }
    return tmp_path / "institute_demo.sqlite3"


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", "--force", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_refuses_to_run_outside_debug(demo_source):
    with pytest.raises(CommandError, match="solo se ejecuta con DJANGO_DEBUG=1"):
        call_command("seed_demo", stdout=StringIO())

    assert not Affiliate.objects.exists()
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_seed_demo_creates_affiliates_of_each_status_through_the_institute_database(demo_source):
    output = seed()

    # The demo institute database exists and the portal's copy came from it.
    assert demo_source.exists()
    assert "800 nuevos" in output
    assert Employer.objects.count() == 12
    for status in AffiliateStatus.values:
        assert Affiliate.objects.filter(status=status).count() == 200
    for affiliate in Affiliate.objects.all():
        assert validate_curp(affiliate.curp) == affiliate.curp
        assert validate_rfc(affiliate.rfc) == affiliate.rfc
    assert Affiliate.objects.filter(is_blocked=True).exists()
    assert AffiliateLoan.objects.count() > 100
    assert not AffiliateLoan.objects.filter(affiliate__status=AffiliateStatus.TERMINATED).exists()
    # The demo products, and existing loans that carry their codes (so renewals can be tried).
    assert set(LoanProduct.objects.values_list("code", flat=True)) == {"PC", "PJ", "PE"}
    assert set(AffiliateLoan.objects.values_list("product_code", flat=True)) <= {"PC", "PJ", "PE"}
    assert "Productos de demostración: " in output


@pytest.mark.django_db
def test_seed_demo_accounts_are_verified_and_some_are_linked(demo_source):
    output = seed()

    users = get_user_model().objects.all()
    assert {user.email for user in users} == {
        "activo@demo.test",
        "pensionado@demo.test",
        "jubilado@demo.test",
        "nuevo@demo.test",
        "admin@demo.test",
    }
    assert EmailAddress.objects.filter(verified=True, primary=True).count() == 5
    linked = {link.user.email: link.affiliate.status for link in AffiliateLink.objects.all()}
    assert linked == {
        "activo@demo.test": AffiliateStatus.ACTIVE,
        "pensionado@demo.test": AffiliateStatus.PENSIONER,
        "jubilado@demo.test": AffiliateStatus.RETIREE,
    }
    assert users.get(email="admin@demo.test").is_superuser
    # The logins and linkable affiliates are printed for the person who ran it.
    assert "Demo-ISSEG-2026" in output
    unlinked_active = (
        Affiliate.objects.filter(status=AffiliateStatus.ACTIVE, is_blocked=False, link=None)
        .order_by("number")
        .first()
    )
    assert unlinked_active.curp in output
    assert unlinked_active.birth_date.strftime("%d/%m/%Y") in output


def snapshot() -> dict:
    """Everything seed_demo writes, in a stable order."""
    return {
        "affiliates": list(
            Affiliate.objects.order_by("number").values_list(
                "number", "source_digest", "loans_digest", "is_blocked"
            )
        ),
        "loans": list(
            AffiliateLoan.objects.order_by("affiliate__number", "product_code").values_list(
                "affiliate__number", "product_code", "balance"
            )
        ),
        "links": list(
            AffiliateLink.objects.order_by("pk").values_list("user__email", "affiliate__number")
        ),
        "passwords": list(get_user_model().objects.order_by("pk").values_list("email", "password")),
        "products": list(
            LoanProduct.objects.order_by("code").values_list("code", "annual_rate", "max_amount")
        ),
        "bands": list(
            SeniorityBand.objects.order_by("product__code", "from_months").values_list(
                "product__code", "from_months", "salary_multiple"
            )
        ),
    }


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing(demo_source):
    seed()
    before = snapshot()

    output = seed()

    assert "0 nuevos, 0 actualizados, 800 sin cambios, 0 rechazados" in output
    assert snapshot() == before


@pytest.mark.django_db
def test_seed_demo_gives_each_linked_account_an_efirma_the_portal_accepts(demo_source, demo_pki):
    from signatures.checks import check_certificate
    from signatures.demo_pki.authority import DEMO_KEY_PASSWORD

    output = seed()

    assert f"contraseña de las llaves: {DEMO_KEY_PASSWORD}" in output
    for link in AffiliateLink.objects.select_related("affiliate"):
        affiliate = link.affiliate
        certificate = demo_pki.demo_users_dir / f"{affiliate.curp}.cer"
        assert str(certificate) in output
        check = check_certificate(certificate.read_bytes(), curp=affiliate.curp, rfc=affiliate.rfc)
        assert check.accepted, check.reasons
        assert certificate.with_suffix(".key").exists()
