"""Rate limits that hold.

- The counters (allauth's, the MFA code's and TOTP reuse markers, django-ratelimit's) live in a
  cache alias that never evicts a live entry: a flood of the cache does not reset them.
- One IPv6 client, who usually holds a whole /64, counts as one address.
- Failed sign-ins are throttled per account and address with a growing wait, answered with a 429
  that says how long to wait, instead of locking the account for everyone; one address trying
  many accounts is limited too; the account's owner is told once that their password is being
  guessed.
"""

import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret, hotp_value
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils.module_loading import import_string
from django_q.models import OrmQ

from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.pages import text_of

pytestmark = pytest.mark.django_db

WRONG = "no-es-la-clave"
ATTACKER = "198.51.100.66"
OWNER = "203.0.113.7"
BALANCER = "10.0.0.2"


@pytest.fixture(autouse=True)
def login_throttle_settings(settings):
    # The values README documents as the defaults, said here so the tests read on their own.
    settings.LOGIN_FREE_ATTEMPTS = 5
    settings.LOGIN_FIRST_DELAY_SECONDS = 30
    settings.LOGIN_MAX_DELAY_SECONDS = 15 * 60
    settings.LOGIN_ADDRESS_FAILURES = 10
    settings.LOGIN_ADDRESS_WINDOW_SECONDS = 60
    settings.LOGIN_GUESSING_NOTICE_FAILURES = 10


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    """The throttle's clock, moved by hand instead of waiting minutes."""
    from isseg_portal import login_throttle

    fake = Clock()
    monkeypatch.setattr(login_throttle, "clock", fake)
    return fake


def from_address(address: str) -> Client:
    return Client(REMOTE_ADDR=address)


def sign_in(client: Client, email: str, password: str):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def flood_the_default_cache(entries: int = 1000) -> None:
    """Far past the database cache's MAX_ENTRIES (300): it culls a third of its keys, in key
    order, each time it is full."""
    for number in range(entries):
        cache.set(f"relleno:{number:05d}", number)


# --- Counters that nothing evicts (point 6) -----------------------------------------------------


def test_a_flood_of_password_resets_does_not_reset_the_sign_in_limit(clock):
    # Given an attacker who has used up the free guesses on an account
    user = UserFactory()
    attacker = from_address(ATTACKER)
    for _ in range(5):
        assert "no son correctas" in text_of(sign_in(attacker, user.email, WRONG))

    # When 320 password-reset requests from 320 addresses fill the cache, and more keys besides
    # (the throttle's clock stands still: the flood takes longer than the first wait)
    flooder = Client()
    for number in range(320):
        flooder.post(
            reverse("account_reset_password"),
            {"email": f"nadie{number}@example.org"},
            REMOTE_ADDR=f"10.20.{number // 200}.{number % 200 + 1}",
        )
    flood_the_default_cache()

    # Then the next guess, even the right one, is still refused
    response = sign_in(attacker, user.email, DEFAULT_PASSWORD)
    assert response.status_code == 429
    assert not is_signed_in(attacker)


def current_code(secret: str) -> str:
    from allauth.mfa import app_settings

    counter = int(time.time()) // app_settings.TOTP_PERIOD
    return format(hotp_value(secret, counter), f"0{app_settings.TOTP_DIGITS}d")


def test_a_used_totp_code_stays_used_after_a_flood_of_the_cache():
    user = UserFactory(is_staff=True)
    secret = generate_totp_secret()
    totp = TOTP.activate(user, secret)
    code = current_code(secret)
    assert totp.validate_code(code)

    flood_the_default_cache()

    # The reuse marker is still there: the same code is refused a second time.
    assert not TOTP(totp.instance).validate_code(code)


def test_the_second_factor_s_limit_holds_after_a_flood_of_the_cache():
    # Given someone with the password who has used up the tries at the account's TOTP code
    user = UserFactory(is_staff=True)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    client = from_address(OWNER)
    assert sign_in(client, user.email, DEFAULT_PASSWORD)["Location"] == reverse("mfa_authenticate")
    wrong = format((int(current_code(secret)) + 500_000) % 1_000_000, "06d")
    for _ in range(5):
        client.post(reverse("mfa_authenticate"), {"code": wrong})

    # When the cache is flooded
    flood_the_default_cache()

    # Then even the right code is refused
    response = client.post(reverse("mfa_authenticate"), {"code": current_code(secret)})
    assert "Demasiados intentos" in text_of(response)
    assert not is_signed_in(client)


def test_two_addresses_of_one_ipv6_64_share_a_django_ratelimit_counter(settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1  # DJANGO_BEHIND_PROXY=1
    settings.SIGNATURES_VERIFY_RATE = "2/h"

    def upload(person: str) -> int:
        client = Client(REMOTE_ADDR=BALANCER, HTTP_X_FORWARDED_FOR=person)
        document = SimpleUploadedFile("contrato.pdf", b"no es un PDF", "application/pdf")
        return client.post(reverse("signatures:verify"), {"documento": document}).status_code

    assert [upload("2001:db8:1:2::10"), upload("2001:db8:1:2::10")] == [400, 400]
    # Another address of the same /64 is the same client...
    assert upload("2001:db8:1:2:ffff:ffff:ffff:20") == 429
    # ...and the next /64 is someone else.
    assert upload("2001:db8:1:3::10") == 400


# --- Sign-in throttling that cannot be turned into a weapon (point 7) -------------------------


@pytest.mark.parametrize("is_staff", [False, True], ids=["applicant", "staff"])
def test_wrong_passwords_from_one_address_do_not_lock_the_owner_out(is_staff):
    # Given someone who keeps guessing an account's password from one address
    user = UserFactory(is_staff=is_staff)
    attacker = from_address(ATTACKER)
    for _ in range(10):
        sign_in(attacker, user.email, WRONG)

    # When the owner signs in from their own address
    owner = from_address(OWNER)
    response = sign_in(owner, user.email, DEFAULT_PASSWORD)

    # Then they are in
    assert response.status_code == 302
    assert is_signed_in(owner)


def test_past_the_free_attempts_the_answer_is_429_with_the_time_to_wait():
    user = UserFactory()
    attacker = from_address(ATTACKER)
    for _ in range(5):
        assert sign_in(attacker, user.email, WRONG).status_code == 200

    response = sign_in(attacker, user.email, DEFAULT_PASSWORD)

    assert response.status_code == 429
    wait = int(response["Retry-After"])
    assert 0 < wait <= 30
    text = text_of(response)
    assert "Demasiados intentos" in text
    assert f"espera {wait} segundos" in text
    assert not is_signed_in(attacker)


def test_the_wait_grows_with_each_wrong_guess_and_the_right_password_clears_it(clock):
    user = UserFactory()
    attacker = from_address(ATTACKER)
    for _ in range(5):
        assert sign_in(attacker, user.email, WRONG).status_code == 200

    waits = []
    for _ in range(4):
        refused = sign_in(attacker, user.email, WRONG)
        assert refused.status_code == 429
        waits.append(int(refused["Retry-After"]))
        clock.advance(waits[-1])
        # Once the wait is over the guess is evaluated again (and is wrong).
        assert "no son correctas" in text_of(sign_in(attacker, user.email, WRONG))

    assert waits == [30, 60, 120, 240]
    assert "espera 8 minutos" in text_of(sign_in(attacker, user.email, WRONG))

    # The wait stops growing at LOGIN_MAX_DELAY_SECONDS
    for _ in range(3):
        clock.advance(15 * 60)
        sign_in(attacker, user.email, WRONG)
    assert int(sign_in(attacker, user.email, WRONG)["Retry-After"]) == 15 * 60

    # The owner at that same address, once the wait is over, signs in and starts afresh.
    clock.advance(15 * 60)
    assert sign_in(attacker, user.email, DEFAULT_PASSWORD).status_code == 302
    attacker.post(reverse("account_logout"))
    assert sign_in(attacker, user.email, WRONG).status_code == 200


def test_one_address_guessing_many_accounts_is_limited_per_ipv6_64():
    # Two addresses of one /64 share the per-address count of failed sign-ins
    first, neighbour = from_address("2001:db8:1:2::10"), from_address("2001:db8:1:2::99")
    for number in range(5):
        assert sign_in(first, f"nadie{number}@example.org", WRONG).status_code == 200
    for number in range(5, 10):
        assert sign_in(neighbour, f"nadie{number}@example.org", WRONG).status_code == 200

    response = sign_in(first, "otra@example.org", WRONG)

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    # Another /64 is not affected.
    assert sign_in(from_address("2001:db8:1:3::10"), "otra@example.org", WRONG).status_code == 200


def queued_notices() -> list[OrmQ]:
    return [
        task
        for task in OrmQ.objects.all()
        if task.func() == "isseg_portal.tasks.password_guessing_notify"
    ]


def test_the_owner_is_told_once_that_their_password_is_being_guessed(
    mailoutbox, django_capture_on_commit_callbacks
):
    # Given guesses at one account from thirty addresses
    user = UserFactory()
    OrmQ.objects.all().delete()
    guesser = Client()
    with django_capture_on_commit_callbacks(execute=True):
        for number in range(30):
            guesser.post(
                reverse("account_login"),
                {"login": user.email, "password": WRONG},
                REMOTE_ADDR=f"198.51.100.{number + 1}",
            )

    # Then one notice is queued, not one per guess
    [task] = queued_notices()
    import_string(task.func())(*task.args())

    # And the owner gets one email, in Spanish, saying what to do
    [email] = mailoutbox
    assert email.to == [user.email]
    assert "intentando entrar a tu cuenta" in email.subject
    assert "Tu cuenta no está bloqueada" in email.body
    assert "/cuenta/password/reset/" in email.body


def test_guesses_at_an_email_without_account_send_nothing(
    mailoutbox, django_capture_on_commit_callbacks
):
    OrmQ.objects.all().delete()
    guesser = Client()
    with django_capture_on_commit_callbacks(execute=True):
        for number in range(30):
            guesser.post(
                reverse("account_login"),
                {"login": "nadie@example.org", "password": WRONG},
                REMOTE_ADDR=f"198.51.100.{number + 1}",
            )

    # The answers were the same as for an account (nothing says whether it exists); there is no
    # owner to tell.
    assert queued_notices() == []
    assert mailoutbox == []
