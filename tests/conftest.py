"""What every test may ask for: who is looking at the portal, where files land, the demo PKI,
and loan applications in the states most tests start from.

Personas: anonymous, unlinked (account without affiliate), applicant and other_applicant
(accounts linked to an affiliate each), staff (an admin user), and one staff member of each
group: analyst (Analistas), authorizer (Autorizadores), treasurer (Tesorería), manager
(Gerencia). Applications are built through the services (tests/builders.py).
"""

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import caches
from django.test import Client, override_settings

from demo.pki.authority import DEMO_SEAL_PASSWORD, DemoPKI
from demo.pki.server import DemoPKIServer, free_port
from loans.models import LoanApplication, LoanProduct
from signatures.models import SignedDocument
from tests.builders import approve, complete_draft_for, sign_with_efirma, signed_for
from tests.dashboard.program import Program, program_built
from tests.factories import UserFactory
from tests.loans.factories import LoanProductFactory
from tests.logins import client_for, linked_applicant
from tests.signatures.credentials import Credentials


def _transactional(item: pytest.Item) -> bool:
    marker = item.get_closest_marker("django_db")
    if marker is not None and (marker.kwargs.get("transaction") or marker.args[:1] == (True,)):
        return True
    return bool({"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests run first among the transactional ones (pytest-django has already put
    those after the others). They restore the migrated database by deserializing it, which
    fails on the content types that a transactional test's flush re-creates with new ids; any
    transactional test before them, in a module that sorts before tests/e2e, would break them."""
    browser = [item for item in items if item.nodeid.startswith("tests/e2e/")]
    if not browser:
        return
    rest = [item for item in items if not item.nodeid.startswith("tests/e2e/")]
    first = next((i for i, item in enumerate(rest) if _transactional(item)), len(rest))
    items[:] = rest[:first] + browser + rest[first:]


@pytest.fixture(autouse=True)
def _clear_cache(request):
    # Rate-limit counters live in the (database) caches; each test that uses the database
    # starts with none. Tests without database access have no cache to clear.
    uses_db = request.node.get_closest_marker("django_db") or {
        "db",
        "transactional_db",
    } & set(request.fixturenames)
    if uses_db:
        marker = request.node.get_closest_marker("django_db")
        transactional = "transactional_db" in request.fixturenames or (
            marker is not None and marker.kwargs.get("transaction", False)
        )
        # Make sure the test database exists before touching the cache table in it.
        request.getfixturevalue("transactional_db" if transactional else "db")
        if transactional:
            # The transactional test before this one emptied the database when it ended.
            migration_data()
        caches_clear()
    yield
    if uses_db:
        caches_clear()


def caches_clear() -> None:
    # The default cache and the rate limits' counters ("ratelimit").
    for alias in caches:
        caches[alias].clear()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    """Every test's uploads and signed PDFs land in its own tmp_path, never in var/media (a
    test that makes an application writes its documents, whether it asks for this or not)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def institute_down(settings, tmp_path):
    """The institute's database does not answer: the portal uses the last known data."""
    settings.AFFILIATES_SOURCE = {
        **settings.AFFILIATES_SOURCE,
        "DRIVER": "sqlite3",
        "DSN": str(tmp_path / "no-such-institute.sqlite3"),
    }


# --- Personas -----------------------------------------------------------------------------------


@pytest.fixture
def anonymous(db) -> Client:
    return Client()


@pytest.fixture
def unlinked(db) -> Client:
    return client_for(UserFactory())


@pytest.fixture
def applicant(db) -> Client:
    return linked_applicant()


@pytest.fixture
def other_applicant(db) -> Client:
    return linked_applicant()


@pytest.fixture
def staff(db) -> Client:
    user = UserFactory(is_staff=True, is_superuser=True)
    return client_for(user)


def migration_data() -> None:
    """Put back what the data migrations write (the audit chain's head, the staff groups, the
    default surveys).

    A transactional test empties the database when it ends; a later transactional test that
    needs those rows (and does not use serialized_rollback) calls this first.
    """
    from django.apps import apps

    from dashboard.staff_groups import ensure_dashboard_permission
    from loans.audit import GENESIS_HASH
    from loans.models import AuditChainHead
    from loans.staff_groups import ensure_staff_groups
    from surveys.defaults import ensure_default_surveys
    from surveys.staff_groups import ensure_manager_permissions

    AuditChainHead.objects.get_or_create(
        pk=1, defaults={"last_sequence": 0, "last_hash": GENESIS_HASH}
    )
    ensure_staff_groups(apps)
    ensure_manager_permissions(apps)
    ensure_dashboard_permission(apps)
    ensure_default_surveys(apps)


def _staff_in(group_name: str) -> Client:
    from django.contrib.auth.models import Group

    migration_data()
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return client_for(user)


@pytest.fixture
def analyst(db) -> Client:
    return _staff_in("Analistas")


@pytest.fixture
def authorizer(db) -> Client:
    return _staff_in("Autorizadores")


@pytest.fixture
def treasurer(db) -> Client:
    return _staff_in("Tesorería")


@pytest.fixture
def manager(db) -> Client:
    return _staff_in("Gerencia")


# --- The demo PKI, served over HTTP on a port of its own for the whole test session ------------


@pytest.fixture(scope="session")
def demo_pki(tmp_path_factory) -> Iterator[DemoPKI]:
    """A fresh demo PKI (new keys) answering OCSP, CRL and TSA on localhost.

    The settings point the trust store, the TSA and `demo_pki` itself at it for the session.
    """
    port = free_port()
    pki = DemoPKI(tmp_path_factory.mktemp("demo_pki"), f"http://127.0.0.1:{port}")
    pki.ensure()
    overrides = override_settings(
        DEMO_PKI_DIR=pki.directory,
        DEMO_PKI_URL=pki.url_prefix,
        DEMO_PKI_PORT=port,
        SIGNATURES_TRUST_DIR=pki.trust_dir,
        SIGNATURES_TSA_URL=pki.service_url("tsa"),
        SIGNATURES_OCSP_URL=pki.service_url("ocsp"),
        SIGNATURES_HTTP_TIMEOUT=5,
    )
    with DemoPKIServer(pki, "127.0.0.1", port), overrides:
        yield pki


@pytest.fixture
def demo_credentials(demo_pki, applicant, tmp_path) -> Credentials:
    """An e.firma from the demo PKI for `applicant`'s affiliate: .cer, .key and password."""
    affiliate = applicant.affiliate
    issued = demo_pki.issue(
        curp=affiliate.curp,
        rfc=affiliate.rfc,
        name=affiliate.full_name.upper(),
        out_dir=tmp_path / "efirma",
    )
    return Credentials.from_issued(issued)


@functools.cache
def _exported_seal(pki: DemoPKI) -> Path:
    return pki.export_seal(DEMO_SEAL_PASSWORD)


@pytest.fixture(scope="session")
def demo_seal_pkcs12(demo_pki) -> Path:
    """The session's demo seal as a PKCS#12 file (its password: DEMO_SEAL_PASSWORD)."""
    return _exported_seal(demo_pki)


@pytest.fixture
def seal(demo_pki, settings) -> Path:
    """The demo PKI's seal as a PKCS#12 file, configured as production configures its own.

    Exported once for each PKI (the session's, or a module's own): `signatures.seal` keeps a
    loaded seal under the file's path and time, so the file is decrypted once, not in every
    test that seals."""
    settings.SIGNATURES_SEAL_PKCS12 = _exported_seal(demo_pki)
    settings.SIGNATURES_SEAL_PASSWORD = DEMO_SEAL_PASSWORD
    return settings.SIGNATURES_SEAL_PKCS12


# --- Loan applications (tests/builders.py) ------------------------------------------------------


@pytest.fixture
def product(db) -> LoanProduct:
    """The demo's PC product: for active workers, the PC seniority bands, 13.67 % a year and
    1 % a year to the Fondo (tests/loans/factories.py)."""
    return LoanProductFactory(code="PC", name="Préstamo personal para trabajadores activos")


@pytest.fixture
def complete_draft(applicant) -> LoanApplication:
    """A draft of `applicant`'s of $60,000.00 over 48 quincenas, every step saved and
    confirmed: what the signing page accepts."""
    return complete_draft_for(applicant)


@pytest.fixture
def signed(applicant) -> LoanApplication:
    """A complete draft signed by its applicant: the transition only, with no signed PDF (for
    the tests of what comes after the signature), committed (its survey invitation is there)."""
    return signed_for(applicant)


@pytest.fixture
def signed_contract(complete_draft, demo_credentials) -> SignedDocument:
    """The contract of `complete_draft` as the applicant signed it with their e.firma (PAdES
    B-LT, against the demo PKI), recorded."""
    return sign_with_efirma(complete_draft, demo_credentials)


@pytest.fixture
def approved(complete_draft, demo_credentials, seal, analyst, authorizer) -> LoanApplication:
    """A complete draft signed with the applicant's e.firma (PAdES, against the demo PKI),
    reviewed and approved; the seal is configured and its task queued, not run."""
    sign_with_efirma(complete_draft, demo_credentials)
    return approve(complete_draft, analyst=analyst, authorizer=authorizer)


@pytest.fixture
def program(analyst, authorizer, treasurer) -> Program:
    """The dashboard's known dataset: eight applications over two months (see
    tests/dashboard/program.py)."""
    return program_built(analyst, authorizer, treasurer)
