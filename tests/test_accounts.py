"""Accounts with django-allauth, in the portal's look and in Spanish: sign up, verify, sign in,
sign out, change and recover the password, and the rate limits that protect them."""

import re

import pytest
from allauth.account import app_settings as allauth_settings
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.pages import element, text_of

NEW_PASSWORD = "Otra-Clave-Segura-2026"


def _link_in(email_body: str, path_prefix: str) -> str:
    """The path of the portal link in an email (the host depends on the request)."""
    match = re.search(rf"https?://[^/\s]+({re.escape(path_prefix)}\S*)", email_body)
    assert match, f"no link to {path_prefix} in:\n{email_body}"
    return match.group(1)


def _is_signed_in(client) -> bool:
    """What the header shows: signed-in people get "Cerrar sesión", the others "Iniciar sesión"."""
    nav = element(client.get(reverse("home")), "nav")
    return "Cerrar sesión" in nav


# --- Sign up and email verification --------------------------------------------------------


def test_sign_up_verify_email_and_get_signed_in(anonymous, mailoutbox):
    # Given a visitor who fills in the sign-up form
    response = anonymous.post(
        reverse("account_signup"),
        {"email": "Maria.Lopez@example.org", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    # Then they are asked to check their inbox, in Spanish
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    page = anonymous.get(response["Location"])
    assert "Confirma tu correo electrónico" in text_of(page)
    assert "Te enviamos un correo" in text_of(page)
    assert not _is_signed_in(anonymous)

    # and they get one email in clear Spanish, with the institute's name and a link
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == ["maria.lopez@example.org"]
    assert email.subject == (
        "[ISSEG Préstamos en línea] Confirma tu correo para terminar de crear tu cuenta"
    )
    assert email.body.startswith("Hola:")
    assert "Gracias por crear tu cuenta" in email.body
    assert settings.INSTITUTE_NAME in email.body
    assert "vincula tu cuenta con tu afiliación" in email.body
    words = re.sub(r"https?://\S+", "", email.body)
    assert not re.search(r"\b(Hello|Thank you|Please|confirm|account)\b", words)
    confirm_path = _link_in(email.body, "/cuenta/confirm-email/")

    # When they try to sign in before confirming
    response = anonymous.post(
        reverse("account_login"), {"login": "maria.lopez@example.org", "password": NEW_PASSWORD}
    )

    # Then the portal refuses and shows the verification-sent page again
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "Confirma tu correo electrónico" in text_of(anonymous.get(response["Location"]))
    assert not _is_signed_in(anonymous)

    # When they open the link: a confirmation page (GET does not confirm)
    page = anonymous.get(confirm_path)
    assert page.status_code == 200
    assert "Confirma que maria.lopez@example.org es tu correo electrónico" in text_of(page)
    assert "Confirmar mi correo" in text_of(page)
    assert not EmailAddress.objects.get(email="maria.lopez@example.org").verified

    # and confirm it
    response = anonymous.post(confirm_path)

    # Then the address is verified and they are signed in
    assert response.status_code == 302
    assert EmailAddress.objects.get(email="maria.lopez@example.org").verified
    assert _is_signed_in(anonymous)


def test_sign_up_errors_are_in_spanish_and_tied_to_their_fields(anonymous):
    response = anonymous.post(
        reverse("account_signup"),
        {"email": "no-es-un-correo", "password1": "123", "password2": "456"},
    )

    assert response.status_code == 200
    text = text_of(response)
    assert "Error: no pudimos continuar." in text
    assert "Introduzca una dirección de correo electrónico válida." in text
    html = response.content.decode()
    # The email input says it is invalid and points at its error message.
    email_input = re.search(r'<input type="email" name="email"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in email_input
    assert 'aria-describedby="id_email_error"' in email_input
    assert re.search(r'<ul class="errorlist" id="id_email_error"><li>', html)
    # The password input points at its help text and its errors; the label is tied to it.
    password_input = re.search(r'<input type="password" name="password1"[^>]*>', html).group(0)
    assert 'aria-describedby="id_password1_helptext id_password1_error"' in password_input
    assert '<label class="form__label" for="id_password1">Contraseña</label>' in html
    assert "Usa al menos 10 caracteres" in text


def test_signing_up_with_a_taken_email_tells_the_owner_in_spanish(anonymous, mailoutbox):
    # Given an account with that email (allauth does not reveal it on the page)
    user = UserFactory()

    response = anonymous.post(
        reverse("account_signup"),
        {"email": user.email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert mailoutbox[0].subject.endswith("Ya tienes una cuenta con este correo")
    assert "ya existe una cuenta con él" in mailoutbox[0].body
    assert _link_in(mailoutbox[0].body, "/cuenta/password/reset/")


def test_sign_up_hashes_one_password_whether_or_not_the_email_is_taken(anonymous, settings):
    # The new account's password is hashed (the slowest step of signing up); with a taken email
    # the same work is done, so the time of the answer does not say whether the email exists.
    from tests.hashers import CountingHasher

    settings.PASSWORD_HASHERS = ["tests.hashers.CountingHasher"]
    taken = UserFactory()

    def hashes_to_sign_up(email: str) -> int:
        CountingHasher.computed = 0
        response = Client().post(
            reverse("account_signup"),
            {"email": email, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
        )
        assert response.status_code == 302
        return CountingHasher.computed

    assert hashes_to_sign_up(taken.email) == hashes_to_sign_up("nueva@example.org") == 1


# --- Sign in and sign out -------------------------------------------------------------------


def test_sign_in_takes_the_person_to_their_affiliation(anonymous):
    user = UserFactory()

    response = anonymous.post(
        reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("affiliates:my_affiliation")
    home = anonymous.get(reverse("home"))
    assert f"Iniciaste sesión como {user.email}." in text_of(home)
    assert "Cerrar sesión" in element(home, "nav")


def test_a_wrong_password_shows_a_spanish_error(anonymous):
    user = UserFactory()

    response = anonymous.post(
        reverse("account_login"), {"login": user.email, "password": "no-es-la-clave"}
    )

    assert response.status_code == 200
    text = text_of(response)
    assert "Error: no pudimos continuar." in text
    assert (
        "La dirección de correo electrónico y/o la contraseña que ha indicado no son correctas."
        in text
    )
    assert 'role="alert"' in element(response, "main")
    assert not _is_signed_in(anonymous)


def test_failed_sign_ins_are_slowed_down_per_account_and_address(anonymous):
    # Given someone who has guessed wrong as many times as an account and address may for free
    # (tests/test_rate_limits.py: the growing wait, the owner elsewhere, the notice)
    user = UserFactory()
    for _ in range(settings.LOGIN_FREE_ATTEMPTS):
        response = anonymous.post(
            reverse("account_login"), {"login": user.email, "password": "no-es-la-clave"}
        )
        assert "no son correctas" in text_of(response)

    # When they try again at once, even with the right password
    response = anonymous.post(
        reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD}
    )

    # Then the portal answers 429, says in Spanish how long to wait, keeps the email typed and
    # does not sign them in
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Demasiados intentos de inicio de sesión sin éxito" in text_of(response)
    assert f'value="{user.email}"' in element(response, "main")
    assert not _is_signed_in(anonymous)


def test_too_many_sign_in_requests_get_the_spanish_429_page(anonymous):
    # Given a connection that has used up allauth's per-IP limit of sign-in requests
    limit = int(allauth_settings.RATE_LIMITS["login"].split("/")[0])
    for number in range(limit):
        anonymous.post(
            reverse("account_login"), {"login": f"nadie{number}@example.org", "password": "x"}
        )

    # When it sends one more
    response = anonymous.post(
        reverse("account_login"), {"login": "nadie@example.org", "password": "x"}
    )

    # Then it gets the portal's 429 page, in Spanish
    assert response.status_code == 429
    text = text_of(response)
    assert "Demasiados intentos" in text
    assert "espera unos minutos" in text
    assert "Too Many Requests" not in response.content.decode()
    assert f'href="{reverse("account_reset_password")}"' in element(response, "main")


def test_sign_out_asks_on_get_and_acts_on_post(unlinked):
    # When a signed-in person opens the sign-out page
    page = unlinked.get(reverse("account_logout"))

    # Then they see a confirmation, and are still signed in
    assert page.status_code == 200
    assert "¿Quieres cerrar tu sesión en este dispositivo?" in text_of(page)
    assert "Sí, cerrar sesión" in text_of(page)
    assert _is_signed_in(unlinked)

    # When they confirm
    response = unlinked.post(reverse("account_logout"))

    # Then they are signed out and back on the home page
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    home = unlinked.get(reverse("home"))
    assert "Cerraste tu sesión." in text_of(home)
    assert "Iniciar sesión" in element(home, "nav")


# --- Passwords --------------------------------------------------------------------------------


def test_change_password(unlinked):
    page = unlinked.get(reverse("account_change_password"))
    html = page.content.decode()
    assert '<label class="form__label" for="id_oldpassword">Contraseña actual</label>' in html
    assert '<label class="form__label" for="id_password1">Nueva contraseña</label>' in html
    assert "Escribe otra vez la contraseña" in html

    response = unlinked.post(
        reverse("account_change_password"),
        {"oldpassword": DEFAULT_PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    unlinked.user.refresh_from_db()
    assert unlinked.user.check_password(NEW_PASSWORD)
    assert "Tu contraseña cambió." in text_of(unlinked.get(response["Location"]))


def test_change_password_with_a_wrong_current_one_is_refused(unlinked):
    response = unlinked.post(
        reverse("account_change_password"),
        {"oldpassword": "no-es-la-clave", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert "Error: Por favor, escriba su contraseña actual." in text_of(response)
    old_input = re.search(
        r'<input type="password" name="oldpassword"[^>]*>', response.content.decode()
    )
    assert 'aria-invalid="true"' in old_input.group(0)
    unlinked.user.refresh_from_db()
    assert unlinked.user.check_password(DEFAULT_PASSWORD)


def test_password_reset_end_to_end(anonymous, mailoutbox):
    # Given a person who forgot their password
    user = UserFactory()
    page = anonymous.get(reverse("account_reset_password"))
    assert "Recuperar contraseña" in text_of(page)

    # When they ask for a reset link
    response = anonymous.post(reverse("account_reset_password"), {"email": user.email})

    # Then the portal tells them to check their inbox
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    assert "Revisa tu correo" in text_of(anonymous.get(response["Location"]))
    # and the email, in Spanish, carries the link
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.subject == "[ISSEG Préstamos en línea] Recupera tu contraseña"
    assert "Para crear una contraseña nueva, abre este enlace:" in email.body
    assert settings.INSTITUTE_NAME in email.body
    reset_path = _link_in(email.body, "/cuenta/password/reset/key/")

    # When they follow it (allauth moves the key into the session and redirects)
    page = anonymous.get(reset_path, follow=True)
    assert page.status_code == 200
    assert "Crear contraseña nueva" in text_of(page)
    form_path = page.redirect_chain[-1][0]

    # and choose a new password
    response = anonymous.post(form_path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    # Then it is saved and they can sign in with it
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_from_key_done")
    assert "Contraseña actualizada" in text_of(anonymous.get(response["Location"]))
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    response = anonymous.post(
        reverse("account_login"), {"login": user.email, "password": NEW_PASSWORD}
    )
    assert response["Location"] == reverse("affiliates:my_affiliation")


def test_a_used_or_wrong_reset_link_is_explained(anonymous):
    response = anonymous.get(
        reverse("account_reset_password_from_key", kwargs={"uidb36": "zz", "key": "x-y"}),
        follow=True,
    )

    assert response.status_code == 200
    assert "Enlace no válido" in text_of(response)
    assert "Pedir un enlace nuevo" in text_of(response)


# --- No English left over ------------------------------------------------------------------

ENGLISH_LEFTOVERS = (
    "Sign In",
    "Sign Up",
    "Sign Out",
    "Password",
    "Forgot",
    "Email",
    "Remember",
    "Verify",
    "Confirm",
    "Change",
    "Reset",
)


@pytest.mark.parametrize(
    ("url_name", "spanish_heading"),
    [
        ("account_login", "Iniciar sesión"),
        ("account_signup", "Crear cuenta"),
        ("account_reset_password", "Recuperar contraseña"),
        ("account_reset_password_done", "Revisa tu correo"),
        ("account_email_verification_sent", "Confirma tu correo electrónico"),
        ("account_inactive", "Cuenta desactivada"),
    ],
)
def test_anonymous_account_pages_have_no_english_left(anonymous, url_name, spanish_heading):
    response = anonymous.get(reverse(url_name))

    assert response.status_code == 200
    text = text_of(response)
    assert f"<h1>{spanish_heading}</h1>" in element(response, "main")
    for word in ENGLISH_LEFTOVERS:
        assert not re.search(rf"\b{word}\b", text), f"{word!r} left in {url_name}"
    assert spanish_heading in text_of(response, "title")


@pytest.mark.parametrize(
    ("url_name", "spanish_heading"),
    [
        ("account_change_password", "Cambiar contraseña"),
        ("account_email", "Correo electrónico"),
        ("account_logout", "Cerrar sesión"),
        ("my_account", "Mi cuenta"),
    ],
)
def test_signed_in_account_pages_have_no_english_left(unlinked, url_name, spanish_heading):
    response = unlinked.get(reverse(url_name))

    assert response.status_code == 200
    text = text_of(response)
    assert f"<h1>{spanish_heading}</h1>" in element(response, "main")
    for word in ENGLISH_LEFTOVERS:
        assert not re.search(rf"\b{word}\b", text), f"{word!r} left in {url_name}"


def test_the_email_page_shows_the_one_address_and_no_inline_script(unlinked):
    # ACCOUNT_CHANGE_EMAIL: one address per account, replaced only after confirming the new one.
    # allauth's multi-address template embeds a <script>; the strict CSP planned forbids it.
    response = unlinked.get(reverse("account_email"))

    html = response.content.decode()
    assert "<script" not in html
    assert f'value="{unlinked.user.email}"' in html
    assert "Correo actual" in text_of(response)
    assert "Nuevo correo" in text_of(response)


@pytest.mark.django_db
def test_sign_up_creates_one_unverified_account(anonymous):
    anonymous.post(
        reverse("account_signup"),
        {"email": "juan.perez@example.org", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )

    user = get_user_model().objects.get(email="juan.perez@example.org")
    assert user.check_password(NEW_PASSWORD)
    assert not EmailAddress.objects.get(user=user).verified
