"""Personas shared by every test: who is looking at the portal.

anonymous, unlinked (account without affiliate), applicant and other_applicant (accounts linked
to an affiliate each), staff (an admin user). Later issues add analyst, authorizer, treasurer and
manager here.
"""

import pytest
from django.core.cache import cache
from django.test import Client

from tests.factories import AffiliateLinkFactory, UserFactory


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
        cache.clear()
    yield
    if uses_db:
        cache.clear()


@pytest.fixture
def anonymous(db) -> Client:
    return Client()


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    client.user = user
    return client


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
