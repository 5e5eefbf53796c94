import pytest

from tests.demo.seeding import demo_settings


@pytest.fixture
def demo_source(settings, tmp_path, demo_seal_pkcs12):
    """A seeding writes under this test's tmp_path; the demo institute's database it makes."""
    for name, value in demo_settings(tmp_path, demo_seal_pkcs12).items():
        setattr(settings, name, value)
    return tmp_path / "institute_demo.sqlite3"
