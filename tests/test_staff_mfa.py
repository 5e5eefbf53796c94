"""Staff reach the admin and the managers' dashboard only with a second factor (TOTP) when
STAFF_REQUIRE_MFA is on."""

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret, hotp_value
from django.test import Client
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def mfa_required(settings):
    settings.STAFF_REQUIRE_MFA = True


def staff_user(*, with_totp: bool):
    user = UserFactory(is_staff=True, is_superuser=True)
    secret = None
    if with_totp:
        secret = generate_totp_secret()
        TOTP.activate(user, secret)
    return user, secret


def current_code(secret: str) -> str:
    import time

    from allauth.mfa import app_settings

    counter = int(time.time()) // app_settings.TOTP_PERIOD
    return format(hotp_value(secret, counter), f"0{app_settings.TOTP_DIGITS}d")


def test_the_admin_login_is_allauths(client: Client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


GUARDED = ["admin:index", "dashboard:dashboard"]


@pytest.mark.parametrize("page", GUARDED)
def test_staff_without_a_second_factor_are_sent_to_set_one_up(client: Client, page):
    user, _secret = staff_user(with_totp=False)
    client.force_login(user)
    response = client.get(reverse(page))
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")


@pytest.mark.parametrize("page", GUARDED)
def test_a_session_without_the_second_factor_must_log_in_again(client: Client, page):
    user, _secret = staff_user(with_totp=True)
    client.force_login(user)
    response = client.get(reverse(page))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_password_and_totp_code_open_the_admin(client: Client):
    user, secret = staff_user(with_totp=True)
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert response.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("dashboard:dashboard")).status_code == 200
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def test_applicants_are_not_asked_for_a_second_factor(applicant):
    assert applicant.get(reverse("loans:application_list")).status_code == 200


def test_the_setup_page_shows_the_qr_code_in_spanish(client: Client):
    user, _secret = staff_user(with_totp=False)
    client.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD})
    # allauth asks for the password again before a second factor is set up.
    assert client.get(reverse("mfa_activate_totp"))["Location"].startswith(
        reverse("account_reauthenticate")
    )
    client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<svg" in page or "data:image" in page
    assert 'lang="es' in page
