"""`seed_demo`: the demo institute, accounts, staff, e.firmas and an application in every state.

Seeding with the demo applications takes some fifteen seconds (seven contracts rendered, signed
and checked against the demo PKI, two sealed), so the tests that only read what it leaves share
one seeding: the class `TestSeededDemo`, whose fixture seeds once inside a transaction that is
undone after its last test (each test still runs in its own savepoint, as usual).
"""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from io import StringIO

import pytest
import requests
from allauth.account.models import EmailAddress
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from affiliates.identifiers import validate_curp, validate_rfc
from affiliates.models import Affiliate, AffiliateLink, AffiliateLoan, AffiliateStatus, Employer
from demo.applications import (
    CANCEL_REASON,
    REJECTION_DETAILS,
    RETURN_REASON,
    SCENARIOS,
    ShowcaseError,
    demo_pki_served,
)
from demo.pki.authority import DEMO_KEY_PASSWORD, DemoPKI
from demo.pki.server import free_port
from loans.models import (
    ApplicationEvent,
    ApplicationStatus,
    LoanApplication,
    LoanProduct,
    Notification,
    Payment,
    SeniorityBand,
    SupportingDocument,
)
from loans.signing import CONTRACT_KIND, SEALED_CONTRACT_KIND, application_signed_contract
from signatures.models import SignedDocument
from signatures.validation import validate_pdf
from tests.demo.seeding import seed, seeded_for_a_while

S = ApplicationStatus
MAIN_ACCOUNTS = {
    "activo@demo.test",
    "pensionado@demo.test",
    "jubilado@demo.test",
    "nuevo@demo.test",
    "admin@demo.test",
}
STAFF_ACCOUNTS = {
    "analista@demo.test": "Analistas",
    "autorizador@demo.test": "Autorizadores",
    "tesoreria@demo.test": "Tesorería",
    "gerencia@demo.test": "Gerencia",
}
APPLICANT_ACCOUNTS = {scenario.email for scenario in SCENARIOS}


@pytest.fixture(scope="class")
def seeded(
    django_db_setup, django_db_blocker, demo_pki, demo_seal_pkcs12, tmp_path_factory
) -> Iterator[str]:
    """The output of one full `seed_demo`, whose writes last for the tests of the class."""
    directory = tmp_path_factory.mktemp("seeded")
    with seeded_for_a_while(django_db_blocker, directory, demo_seal_pkcs12) as output:
        yield output


def application_of(email: str) -> LoanApplication:
    return LoanApplication.objects.select_related("affiliate").get(applicant__email=email)


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
        "staff": list(
            get_user_model()
            .objects.filter(is_staff=True)
            .order_by("pk")
            .values_list("email", "is_superuser", "groups__name")
        ),
        "products": list(
            LoanProduct.objects.order_by("code").values_list("code", "annual_rate", "max_amount")
        ),
        "bands": list(
            SeniorityBand.objects.order_by("product__code", "from_months").values_list(
                "product__code", "from_months", "salary_multiple"
            )
        ),
        "applications": list(
            LoanApplication.objects.order_by("pk").values_list(
                "folio", "status", "applicant__email", "completed_at", "analyst", "approver"
            )
        ),
        "events": list(ApplicationEvent.objects.order_by("sequence").values_list("hash")),
        "documents": list(
            SupportingDocument.objects.order_by("pk").values_list("application__folio", "sha256")
        ),
        "signed": list(
            SignedDocument.objects.order_by("pk").values_list("reference", "kind", "sha256")
        ),
        "payments": list(Payment.objects.values_list("application__folio", "spei_reference")),
        "notices": Notification.objects.count(),
    }


@pytest.mark.django_db
# One seeding for the class: its tests run in one process when the suite runs in several.
@pytest.mark.xdist_group("seeded_demo")
class TestSeededDemo:
    @pytest.fixture
    def media_root(self, seeded):
        """The seeding's files (tests/conftest.py would give each test a directory of its own):
        the tests of the class read the contracts it signed and sealed."""
        return django_settings.MEDIA_ROOT

    def test_affiliates_of_each_status_come_through_the_institute_database(self, seeded):
        # The demo institute database exists and the portal's copy came from it.
        assert "800 nuevos" in seeded
        assert Employer.objects.count() == 12
        for status in AffiliateStatus.values:
            assert Affiliate.objects.filter(status=status).count() == 200
        for affiliate in Affiliate.objects.all():
            assert validate_curp(affiliate.curp) == affiliate.curp
            assert validate_rfc(affiliate.rfc) == affiliate.rfc
        assert Affiliate.objects.filter(is_blocked=True).exists()
        assert AffiliateLoan.objects.count() > 100
        assert not AffiliateLoan.objects.filter(
            affiliate__status=AffiliateStatus.TERMINATED
        ).exists()
        # The demo products, and existing loans that carry their codes (renewals can be tried).
        assert set(LoanProduct.objects.values_list("code", flat=True)) == {"PC", "PJ", "PE"}
        assert set(AffiliateLoan.objects.values_list("product_code", flat=True)) <= {
            "PC",
            "PJ",
            "PE",
        }
        assert "Productos de demostración: " in seeded

    def test_accounts_are_verified_and_the_applicants_linked(self, seeded):
        users = get_user_model().objects.all()
        assert {user.email for user in users} == (
            MAIN_ACCOUNTS | set(STAFF_ACCOUNTS) | APPLICANT_ACCOUNTS
        )
        assert EmailAddress.objects.filter(verified=True, primary=True).count() == users.count()
        linked = {link.user.email: link.affiliate.status for link in AffiliateLink.objects.all()}
        assert {email: linked[email] for email in MAIN_ACCOUNTS if email in linked} == {
            "activo@demo.test": AffiliateStatus.ACTIVE,
            "pensionado@demo.test": AffiliateStatus.PENSIONER,
            "jubilado@demo.test": AffiliateStatus.RETIREE,
        }
        assert set(linked) - MAIN_ACCOUNTS == APPLICANT_ACCOUNTS
        assert users.get(email="admin@demo.test").is_superuser
        # The logins and linkable affiliates are printed for the person who ran it.
        assert "Demo-ISSEG-2026" in seeded
        unlinked_active = (
            Affiliate.objects.filter(status=AffiliateStatus.ACTIVE, is_blocked=False, link=None)
            .order_by("number")
            .first()
        )
        assert unlinked_active.curp in seeded
        assert unlinked_active.birth_date.strftime("%d/%m/%Y") in seeded

    def test_staff_have_one_account_per_group_and_are_told_how_to_log_in(self, seeded):
        for email, group_name in STAFF_ACCOUNTS.items():
            user = get_user_model().objects.get(email=email)
            assert user.is_staff
            assert not user.is_superuser
            assert list(user.groups.values_list("name", flat=True)) == [group_name]
            assert user.check_password("Demo-ISSEG-2026")
            assert email in seeded
        assert "entre en /admin/" in seeded

    def test_each_linked_account_has_an_efirma_the_portal_accepts(self, seeded, demo_pki):
        from signatures.checks import check_certificate

        assert f"contraseña de las llaves: {DEMO_KEY_PASSWORD}" in seeded
        for link in AffiliateLink.objects.select_related("affiliate", "user"):
            affiliate = link.affiliate
            certificate = demo_pki.demo_users_dir / f"{affiliate.curp}.cer"
            if link.user.email in MAIN_ACCOUNTS:
                assert str(certificate) in seeded
            else:
                assert affiliate.curp in seeded
            check = check_certificate(
                certificate.read_bytes(), curp=affiliate.curp, rfc=affiliate.rfc
            )
            assert check.accepted, check.reasons
            assert certificate.with_suffix(".key").exists()

    def test_there_is_an_application_in_every_state_and_none_for_the_demo_walk(self, seeded):
        applications = LoanApplication.objects.all()
        assert {application.status for application in applications} == set(S.values)
        for scenario in SCENARIOS:
            assert application_of(scenario.email).status == scenario.status
        drafts = applications.filter(status=S.DRAFT)
        assert sorted(draft.is_signable for draft in drafts) == [False, True]
        # activo@ and the others can still simulate, apply and sign in the demo walk.
        assert not applications.filter(applicant__email__in=MAIN_ACCOUNTS).exists()

    def test_signed_applications_carry_their_signed_contract_and_approved_ones_the_seal(
        self, seeded
    ):
        applications = LoanApplication.objects.select_related("affiliate")
        for application in applications.exclude(status__in=[S.DRAFT, S.EXPIRED]):
            contract = SignedDocument.objects.get(reference=application.folio, kind=CONTRACT_KIND)
            assert (contract.signer_curp, contract.signer_rfc) == (
                application.affiliate.curp,
                application.affiliate.rfc,
            )
        for application in applications.filter(status__in=[S.APPROVED, S.DISBURSED]):
            sealed = application_signed_contract(application)
            assert sealed.kind == SEALED_CONTRACT_KIND
            report = validate_pdf(sealed.file.read())
            assert report.ok
            assert len(report.signatures) == 2
            assert all(signature.trusted for signature in report.signatures)

    def test_staff_acted_by_their_roles_and_wrote_the_reasons_the_applicants_read(self, seeded):
        staff = get_user_model().objects.filter(is_staff=True)
        analyst = staff.get(email="analista@demo.test")
        authorizer = staff.get(email="autorizador@demo.test")
        treasurer = staff.get(email="tesoreria@demo.test")
        applications = LoanApplication.objects.all()
        reviewed = applications.filter(
            status__in=[S.IN_REVIEW, S.RETURNED, S.REJECTED, S.APPROVED, S.DISBURSED]
        )
        assert {application.analyst for application in reviewed} == {analyst}
        approved = applications.filter(status__in=[S.APPROVED, S.DISBURSED])
        assert {application.approver for application in approved} == {authorizer}
        paid = applications.get(status=S.DISBURSED)
        payment = Payment.objects.get(application=paid)
        assert (payment.registered_by, payment.amount, payment.clabe) == (
            treasurer,
            paid.net_to_receive,
            paid.clabe,
        )
        last_reason = {
            application.status: application.events.order_by("sequence").last().reason
            for application in applications
        }
        assert last_reason[S.RETURNED] == RETURN_REASON
        assert last_reason[S.REJECTED].endswith(REJECTION_DETAILS)
        assert last_reason[S.CANCELLED] == CANCEL_REASON
        call_command("verify_audit", stdout=StringIO())  # raises when the chain is broken

    def test_applicants_have_their_notices_and_no_email_went_to_demo_addresses(self, seeded):
        returned = LoanApplication.objects.get(status=S.RETURNED)
        assert Notification.objects.filter(
            recipient=returned.applicant, body__contains=RETURN_REASON
        ).exists()
        assert Notification.objects.count() > len(SCENARIOS)
        # Marked as emailed: the worker's queued runs find nothing left to send.
        assert not Notification.objects.filter(emailed_at__isnull=True).exists()

    def test_the_summary_says_which_folio_is_in_which_state(self, seeded):
        assert "(10 nuevas;" in seeded
        for application in LoanApplication.objects.select_related("applicant"):
            row = next(line for line in seeded.splitlines() if application.folio in line)
            assert application.get_status_display() in row
            assert application.applicant.email in row
        assert "Aprobada (contrato sellado)" in seeded
        assert "Pagada (contrato sellado)" in seeded
        assert "Borrador (completa, lista para firmar)" in seeded

    def test_a_second_run_changes_nothing(self, seeded):
        before = snapshot()

        output = seed()

        assert "0 nuevos, 0 actualizados, 800 sin cambios, 0 rechazados" in output
        assert "(0 nuevas;" in output
        assert snapshot() == before


@pytest.mark.django_db
def test_seed_demo_refuses_to_run_outside_debug(demo_source):
    with pytest.raises(CommandError, match="solo se ejecuta con DJANGO_DEBUG=1"):
        call_command("seed_demo", stdout=StringIO())

    assert not Affiliate.objects.exists()
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_without_applications_only_the_accounts_and_the_staff_are_seeded(demo_source):
    output = seed("--no-applications")

    assert {user.email for user in get_user_model().objects.all()} == (
        MAIN_ACCOUNTS | set(STAFF_ACCOUNTS)
    )
    assert not LoanApplication.objects.exists()
    assert "Solicitudes de demostración" not in output


@pytest.mark.django_db
def test_a_seeding_that_fails_half_way_leaves_nothing_half_done_and_the_next_run_completes_it(
    demo_source, settings, monkeypatch
):
    # Given the first three scenarios only (two drafts, then the first signature: enough to
    # see it, and a third of the time of them all)
    first_three = SCENARIOS[:3]
    monkeypatch.setattr("demo.applications.SCENARIOS", first_three)
    monkeypatch.setattr("demo.management.commands.seed_demo.SCENARIOS", first_three)
    # and a TSA that does not answer: the signature cannot be finished
    tsa_url = settings.SIGNATURES_TSA_URL
    settings.SIGNATURES_TSA_URL = f"http://127.0.0.1:{free_port()}/tsa"

    output = seed()

    # Then the person is told, the drafts made before it stay, and the failed one left nothing
    assert "No se crearon todas las solicitudes de demostración" in output
    assert list(LoanApplication.objects.values_list("status", flat=True)) == [S.DRAFT, S.DRAFT]
    assert not SignedDocument.objects.exists()

    # When the TSA is back and seed_demo runs again
    settings.SIGNATURES_TSA_URL = tsa_url
    seed()

    # Then the missing one is made, and the others are not made twice
    assert list(LoanApplication.objects.order_by("pk").values_list("status", flat=True)) == [
        S.DRAFT,
        S.DRAFT,
        S.SIGNED,
    ]
    assert SignedDocument.objects.count() == 1


# --- Serving the demo PKI while seeding -------------------------------------------------------


def pki_at(pki: DemoPKI, port: int) -> DemoPKI:
    """The same PKI (same keys) as if its services were configured on another port."""
    return DemoPKI(pki.directory, f"http://127.0.0.1:{port}")


def test_the_pki_is_served_while_seeding_when_nothing_answers_on_its_port(demo_pki):
    port = free_port()
    pki = pki_at(demo_pki, port)

    with demo_pki_served(pki, host="127.0.0.1", port=port) as served_here:
        assert served_here
        assert requests.get(pki.service_url("crl"), timeout=5).status_code == 200

    with pytest.raises(requests.ConnectionError):
        requests.get(pki.service_url("crl"), timeout=5)


def test_a_demo_pki_serve_already_answering_is_used(demo_pki, settings):
    # The session's PKI answers on its port, as `demo_pki serve` would.
    with demo_pki_served(demo_pki, host="127.0.0.1", port=settings.DEMO_PKI_PORT) as served_here:
        assert not served_here
        assert requests.get(demo_pki.service_url("crl"), timeout=5).status_code == 200


class _NotAPKI(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_another_program_on_the_port_is_reported(demo_pki):
    server = HTTPServer(("127.0.0.1", 0), _NotAPKI)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with (
            pytest.raises(ShowcaseError, match="responde otro programa"),
            demo_pki_served(pki_at(demo_pki, port), host="127.0.0.1", port=port),
        ):
            pass
    finally:
        server.shutdown()
        server.server_close()


def test_another_demo_pki_on_the_port_is_reported(demo_pki, tmp_path, settings):
    # A PKI of another directory (other keys), configured where the session's one answers.
    other = DemoPKI(tmp_path / "other_pki", demo_pki.url_prefix)
    other.ensure()

    with (
        pytest.raises(ShowcaseError, match="otra PKI de demostración"),
        demo_pki_served(other, host="127.0.0.1", port=settings.DEMO_PKI_PORT),
    ):
        pass
