"""Personas shared by every test: who is looking at the portal.

anonymous, unlinked (account without affiliate), applicant and other_applicant (accounts linked
to an affiliate each), staff (an admin user), and one staff member of each group: analyst
(Analistas), authorizer (Autorizadores), treasurer (Tesorería), manager (Gerencia).
"""

import time
from collections.abc import Iterator

import pytest
from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.account.internal.userkit import user_id_to_str
from django.core.cache import cache
from django.test import Client, override_settings

from demo.pki.authority import DemoPKI
from demo.pki.server import DemoPKIServer, free_port
from tests.factories import AffiliateLinkFactory, UserFactory
from tests.signatures.credentials import Credentials


@pytest.fixture(autouse=True)
def _clear_cache(request):
    # Rate-limit counters live in the (database) cache; each test that uses the database
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
        cache.clear()
    yield
    if uses_db:
        cache.clear()


@pytest.fixture
def institute_down(settings, tmp_path):
    """The institute's database does not answer: the portal uses the last known data."""
    settings.AFFILIATES_SOURCE = {
        **settings.AFFILIATES_SOURCE,
        "DRIVER": "sqlite3",
        "DSN": str(tmp_path / "no-such-institute.sqlite3"),
    }


@pytest.fixture
def anonymous(db) -> Client:
    return Client()


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    record_authentication(client, user)
    client.user = user
    return client


def record_authentication(client: Client, user, at: float | None = None) -> None:
    """What allauth's login page writes in the session: who authenticated, how, and when
    (isseg_portal.reauthentication reads it before signing or a staff action)."""
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time() if at is None else at}
    ]
    session["account_authentication_methods_user"] = user_id_to_str(user)
    session.save()


@pytest.fixture
def unlinked(db) -> Client:
    return _client_for(UserFactory())


@pytest.fixture
def applicant(db) -> Client:
    link = AffiliateLinkFactory()
    client = _client_for(link.user)
    client.affiliate = link.affiliate
    return client


@pytest.fixture
def other_applicant(db) -> Client:
    link = AffiliateLinkFactory()
    client = _client_for(link.user)
    client.affiliate = link.affiliate
    return client


@pytest.fixture
def staff(db) -> Client:
    user = UserFactory(is_staff=True, is_superuser=True)
    return _client_for(user)


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
    return _client_for(user)


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


@pytest.fixture
def seal(demo_pki, settings):
    """The demo PKI's seal as a PKCS#12 file, configured as production configures its own."""
    from demo.pki.authority import DEMO_SEAL_PASSWORD

    settings.SIGNATURES_SEAL_PKCS12 = demo_pki.export_seal(DEMO_SEAL_PASSWORD)
    settings.SIGNATURES_SEAL_PASSWORD = DEMO_SEAL_PASSWORD
    return settings.SIGNATURES_SEAL_PKCS12
