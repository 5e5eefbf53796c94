"""Failed sign-ins: slowed per account and address, never an account locked for everyone.

A lock per account ("five wrong passwords and the account waits") is a weapon: anyone who knows
an email keeps its owner out with one request a minute. Instead, counted in the counters' cache
(isseg_portal/counters.py, never evicted):

- per account and address (an IPv6 client: its /64), LOGIN_FREE_ATTEMPTS wrong passwords, then
  a wait before each next attempt that doubles from LOGIN_FIRST_DELAY_SECONDS up to
  LOGIN_MAX_DELAY_SECONDS. The owner at any other address signs in as always; the right password
  at this address (once the wait is over) clears it;
- per address, whatever the account: LOGIN_ADDRESS_FAILURES failures within
  LOGIN_ADDRESS_WINDOW_SECONDS (one address trying many accounts);
- per account, from any address: LOGIN_GUESSING_NOTICE_FAILURES failures within an hour queue
  one email to the owner (at most one a day), saying their password is being guessed and what to
  do.

An attempt counts as failed when it starts and is taken back if the password is right, so
requests sent in parallel cannot all slip past a check. A refused attempt checks no password; the
page answers 429 with Retry-After and says how long to wait (`LoginThrottleMiddleware`), and the
form keeps what was typed. An email with no account behind it is counted the same way, so the
answers say nothing about which accounts exist.
"""

import hashlib
import logging
import math
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from isseg_portal.background import enqueue_on_commit
from isseg_portal.client_ip import client_ip, client_network
from isseg_portal.counters import counters_cache

audit_log = logging.getLogger("isseg.audit")

# The throttle's clock (seconds since the epoch); the tests move it instead of waiting.
clock = time.time

NOTICE_WINDOW_SECONDS = 3600
NOTICE_EVERY_SECONDS = 24 * 3600
LOCK_TIMEOUT_SECONDS = 10
LOCK_WAIT_SECONDS = 1.0


@dataclass(frozen=True)
class Refusal:
    """An attempt not made: wait `retry_after` seconds."""

    retry_after: int


@dataclass(frozen=True)
class Attempt:
    """An attempt under way, counted as failed until `succeeded` takes it back."""

    account: str
    pair_key: str
    address_key: str
    started: float


def _key(kind: str, *parts: str) -> str:
    # Hashed: no email or address in a cache key (nor in Redis' memory dumps).
    return f"login-throttle:{kind}:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()


@contextmanager
def _locked(key: str) -> Iterator[bool]:
    """A short lock on `key` in the counters' cache, as allauth's own limits take (cache.add)."""
    store = counters_cache()
    lock = f"{key}:lock"
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while not store.add(lock, 1, timeout=LOCK_TIMEOUT_SECONDS):
        if time.monotonic() >= deadline:
            yield False
            return
        time.sleep(0.01)
    try:
        yield True
    finally:
        store.delete(lock)


def delay_after(attempts: int) -> int:
    """Seconds to wait after `attempts` wrong passwords at one address for one account."""
    if attempts < settings.LOGIN_FREE_ATTEMPTS:
        return 0
    doublings = attempts - settings.LOGIN_FREE_ATTEMPTS
    # Capped before the power, so a long attack never computes a huge number.
    if doublings >= 32:
        return settings.LOGIN_MAX_DELAY_SECONDS
    return min(settings.LOGIN_MAX_DELAY_SECONDS, settings.LOGIN_FIRST_DELAY_SECONDS * 2**doublings)


def _wait(seconds: float) -> int:
    return max(1, math.ceil(seconds))


def _keys(request: HttpRequest, login: str) -> tuple[str, str, str]:
    """The account (its email as typed, case aside), its pair's key and the address' key."""
    account = (login or "").strip().lower()
    network = client_network(client_ip(request)) or "unknown"
    return account, _key("pair", account, network), _key("address", network)


def pair_clear(request: HttpRequest, login: str) -> None:
    """The account's owner proved who they are (a password reset): no wait at this address."""
    _account, pair_key, _address_key = _keys(request, login)
    counters_cache().delete(pair_key)


def attempt_start(request: HttpRequest, login: str) -> Attempt | Refusal:
    """Before a password is checked: refuse, or count the attempt as failed in advance."""
    account, pair_key, address_key = _keys(request, login)
    store = counters_cache()
    window = settings.LOGIN_ADDRESS_WINDOW_SECONDS
    with ExitStack() as stack:
        # Always the pair's lock first, then the address': no two requests wait on each other.
        if not (
            stack.enter_context(_locked(pair_key)) and stack.enter_context(_locked(address_key))
        ):
            return Refusal(retry_after=1)
        now = clock()
        pair = store.get(pair_key) or {"attempts": 0, "until": 0.0}
        if now < pair["until"]:
            return Refusal(retry_after=_wait(pair["until"] - now))
        failures = [at for at in store.get(address_key, []) if at > now - window]
        if len(failures) >= settings.LOGIN_ADDRESS_FAILURES:
            return Refusal(retry_after=_wait(min(failures) + window - now))
        attempts = pair["attempts"] + 1
        delay = delay_after(attempts)
        store.set(
            pair_key,
            {"attempts": attempts, "until": now + delay if delay else 0.0},
            timeout=max(settings.LOGIN_FORGET_SECONDS, delay),
        )
        store.set(address_key, [*failures, now], timeout=window)
    return Attempt(account=account, pair_key=pair_key, address_key=address_key, started=now)


def attempt_succeeded(attempt: Attempt) -> None:
    """The password was right: the pair starts afresh and the address' count loses this one."""
    store = counters_cache()
    store.delete(attempt.pair_key)
    with _locked(attempt.address_key) as locked:
        if locked:
            failures = store.get(attempt.address_key, [])
            if attempt.started in failures:
                failures.remove(attempt.started)
                store.set(
                    attempt.address_key, failures, timeout=settings.LOGIN_ADDRESS_WINDOW_SECONDS
                )


def attempt_failed(attempt: Attempt) -> None:
    """The password was wrong (already counted): count it for the account, and tell its owner
    once when the failures from anywhere reach LOGIN_GUESSING_NOTICE_FAILURES within an hour."""
    from isseg_portal.tasks import password_guessing_notify

    store = counters_cache()
    account_key = _key("account", attempt.account)
    with _locked(account_key) as locked:
        if not locked:
            return
        now = clock()
        failures = [at for at in store.get(account_key, []) if at > now - NOTICE_WINDOW_SECONDS]
        failures.append(now)
        # Only as many as the threshold are kept: an attack does not grow the entry.
        failures = failures[-settings.LOGIN_GUESSING_NOTICE_FAILURES :]
        store.set(account_key, failures, timeout=NOTICE_WINDOW_SECONDS)
    if len(failures) < settings.LOGIN_GUESSING_NOTICE_FAILURES:
        return
    if not store.add(_key("notice", attempt.account), 1, timeout=NOTICE_EVERY_SECONDS):
        return
    user_id = _account_user_id(attempt.account)
    if user_id is not None:
        audit_log.warning(
            "Repeated failed sign-ins on account %s within an hour; its owner is told by email.",
            user_id,
        )
        enqueue_on_commit(password_guessing_notify, user_id)


def _account_user_id(email: str) -> int | None:
    from allauth.account.models import EmailAddress
    from django.contrib.auth import get_user_model

    found = EmailAddress.objects.filter(email__iexact=email).values_list("user_id", flat=True)
    user_id = found.first()
    if user_id is None:
        users = get_user_model().objects.filter(email__iexact=email, is_active=True)
        user_id = users.values_list("pk", flat=True).first()
    return user_id


def wait_text(seconds: int) -> str:
    """How long to wait, in the page's words: "30 segundos", "8 minutos"."""
    if seconds < 120:
        return ngettext("%(count)d segundo", "%(count)d segundos", seconds) % {"count": seconds}
    minutes = math.ceil(seconds / 60)
    return ngettext("%(count)d minuto", "%(count)d minutos", minutes) % {"count": minutes}


def refusal_message(refusal: Refusal) -> str:
    return _(
        "Demasiados intentos de inicio de sesión sin éxito desde tu conexión. Por seguridad, "
        "espera %(wait)s antes de volver a intentarlo. Si olvidaste tu contraseña, no sigas "
        "probando: puedes crear una nueva."
    ) % {"wait": wait_text(refusal.retry_after)}


def request_refused(request: HttpRequest, refusal: Refusal) -> None:
    """Mark the request so its answer becomes a 429 with Retry-After."""
    request.login_refusal = refusal


class LoginThrottleMiddleware:
    """A page whose sign-in the throttle refused (the form, with its message, keeps the email)
    answers 429 with Retry-After instead of 200."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        refusal = getattr(request, "login_refusal", None)
        if refusal is not None and response.status_code == 200:
            response.status_code = 429
            response["Retry-After"] = str(refusal.retry_after)
        return response
