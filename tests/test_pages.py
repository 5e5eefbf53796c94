"""The public pages and the portal's skeleton, as a person sees them."""

import re

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import get_template
from django.test import Client
from django.urls import reverse

from tests.pages import element, text_of

# --- Home page ------------------------------------------------------------------------------


def test_home_explains_the_service_to_an_anonymous_visitor(anonymous):
    # When a visitor opens the portal
    response = anonymous.get(reverse("home"))

    # Then the page explains, in Spanish, what the service is and who may apply
    assert response.status_code == 200
    text = text_of(response)
    assert "Préstamo personal en línea" in text
    assert "Afiliados activos" in text
    assert "Pensionados y jubilados con afiliación vigente" in text
    # and what they need, with the e.firma files by name
    assert "afiliación vigente" in text
    assert "correo electrónico" in text
    assert "(.cer)" in text
    assert "(.key)" in text
    assert "contraseña de esa clave" in text
    assert "CLABE interbancaria" in text
    assert "identificación oficial" in text


def test_home_lists_the_seven_steps_of_the_process(anonymous):
    response = anonymous.get(reverse("home"))

    steps = element(response, "ol")
    assert 'class="steps"' in steps
    assert steps.count("<li>") == 7
    text = text_of(response, "ol")
    assert text.startswith("Crea tu cuenta y verifica tu correo.")
    assert "CURP" in text
    assert "número de afiliación" in text
    assert "fecha de nacimiento" in text
    assert "Simula tu préstamo." in text
    assert "Fírmala con tu firma electrónica." in text
    assert "Recibes el depósito por SPEI en tu cuenta." in text


def test_home_invites_an_anonymous_visitor_to_sign_up_or_sign_in(anonymous):
    response = anonymous.get(reverse("home"))

    main = element(response, "main")
    assert f'href="{reverse("account_signup")}"' in main
    assert f'href="{reverse("account_login")}"' in main
    assert reverse("affiliates:my_affiliation") not in main


def test_home_sends_a_signed_in_user_to_their_affiliation(unlinked):
    response = unlinked.get(reverse("home"))

    main = element(response, "main")
    assert "Ir a Mi afiliación" in text_of(response)
    assert f'href="{reverse("affiliates:my_affiliation")}"' in main
    assert reverse("account_signup") not in main


# --- Skeleton: language, skip link, navigation, footer ------------------------------------------


def test_every_page_is_in_mexican_spanish_and_fits_a_phone(anonymous):
    response = anonymous.get(reverse("home"))

    html = response.content.decode()
    assert '<html lang="es-MX">' in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "<title>Préstamo personal en línea · ISSEG</title>" in html


def test_the_skip_link_leads_to_the_main_content(anonymous):
    response = anonymous.get(reverse("home"))

    html = response.content.decode()
    skip_link = re.search(r'<a class="skip-link" href="#contenido">([^<]+)</a>', html)
    assert skip_link
    assert skip_link.group(1) == "Saltar al contenido principal"
    # It is the first thing a keyboard reaches, and its target is the <main> element.
    assert html.index("skip-link") < html.index("<header")
    assert re.search(r'<main id="contenido"[^>]*tabindex="-1"', html)


def test_anonymous_navigation_offers_sign_in_and_sign_up(anonymous):
    response = anonymous.get(reverse("home"))

    nav = element(response, "nav")
    assert 'aria-label="Navegación principal"' in nav
    assert f'href="{reverse("home")}" aria-current="page">Inicio</a>' in nav
    assert f'href="{reverse("account_login")}">Iniciar sesión</a>' in nav
    assert f'href="{reverse("account_signup")}">Crear cuenta</a>' in nav
    assert "Cerrar sesión" not in nav


def test_signed_in_navigation_offers_affiliation_account_and_a_logout_form(unlinked):
    response = unlinked.get(reverse("home"))

    nav = element(response, "nav")
    assert f'href="{reverse("affiliates:my_affiliation")}">Mi afiliación</a>' in nav
    assert f'href="{reverse("my_account")}">Mi cuenta</a>' in nav
    # allauth logs out on POST only: the header carries a small form with its CSRF token.
    form = re.search(
        r'<form class="site-nav__form" method="post" action="([^"]+)">(.*?)</form>', nav, re.S
    )
    assert form
    assert form.group(1) == reverse("account_logout")
    assert 'name="csrfmiddlewaretoken"' in form.group(2)
    assert "Cerrar sesión</button>" in form.group(2)
    assert "Iniciar sesión" not in nav


def test_footer_links_the_privacy_notices_and_gives_the_contact(anonymous):
    response = anonymous.get(reverse("home"))

    footer = element(response, "footer")
    assert f'href="{reverse("privacy_notice")}"' in footer
    assert "Aviso de privacidad simplificado" in footer
    assert f'href="{reverse("privacy_notice_full")}"' in footer
    assert "Aviso de privacidad integral" in footer
    assert f'href="mailto:{settings.INSTITUTE_CONTACT_EMAIL}"' in footer
    assert settings.INSTITUTE_NAME in footer


def test_messages_are_announced_with_a_word_and_a_role(unlinked):
    # Given a person who has just signed out (allauth leaves a success message)
    unlinked.post(reverse("account_logout"))

    # When the next page renders
    response = unlinked.get(reverse("home"))

    # Then the message says what happened, starts with a word, and is a polite status
    notice = re.search(
        r'<div class="notice notice--success" role="status">(.*?)</div>',
        element(response, "main"),
        re.S,
    )
    assert notice
    assert "<strong>Listo:</strong> Cerraste tu sesión." in notice.group(1)


# --- Privacy notices ------------------------------------------------------------------------


def test_simplified_privacy_notice_has_the_sections_the_law_asks_for(anonymous):
    response = anonymous.get(reverse("privacy_notice"))

    assert response.status_code == 200
    text = text_of(response)
    assert "Aviso de privacidad simplificado" in text
    # Denominación del responsable
    assert (
        f"El {settings.INSTITUTE_NAME} ({settings.INSTITUTE_SHORT_NAME}) es el responsable" in text
    )
    # Finalidades, distinguishing those that need consent
    assert "Finalidades que no requieren tu consentimiento" in text
    assert "Finalidades que requieren tu consentimiento" in text
    assert "encuestas de satisfacción" in text
    # Transferencias que requieren consentimiento
    assert "Transferencias de datos que requieren tu consentimiento" in text
    # Mecanismos para manifestar la negativa
    assert "¿Cómo puedes negarte al uso de tus datos?" in text
    assert settings.INSTITUTE_PRIVACY_EMAIL in text
    # Dónde consultar el aviso integral
    assert f'href="{reverse("privacy_notice_full")}"' in element(response, "main")


def test_full_privacy_notice_has_the_sections_the_law_asks_for(anonymous):
    response = anonymous.get(reverse("privacy_notice_full"))

    assert response.status_code == 200
    text = text_of(response)
    assert "Aviso de privacidad integral" in text
    assert "Responsable y domicilio" in text
    assert "Domicilio:" in text
    assert "Datos personales que recabamos" in text
    for category in ("De identificación:", "De contacto:", "Laborales:"):
        assert category in text
    assert "Patrimoniales y financieros:" in text
    assert "CLABE interbancaria" in text
    assert "sueldo base" in text
    assert "certificado de firma electrónica (archivo .cer)" in text
    assert "Tu clave privada (archivo .key) y su contraseña nunca salen de tu dispositivo" in text
    assert "el Instituto nunca las recibe ni las guarda" in text
    assert "Finalidades que requieren tu consentimiento" in text
    assert "Fundamento legal" in text
    assert "Ley General de Protección de Datos Personales en Posesión de Sujetos Obligados" in text
    assert "Transferencias que requieren tu consentimiento:" in text
    assert "Cómo ejercer tus derechos ARCO" in text
    assert "Unidad de Transparencia" in text
    assert settings.INSTITUTE_PRIVACY_EMAIL in text
    assert "Cambios a este aviso" in text
    assert "Fecha de última actualización:" in text


@pytest.mark.parametrize("url_name", ["privacy_notice", "privacy_notice_full"])
def test_privacy_notices_are_marked_for_legal_review(anonymous, url_name):
    response = anonymous.get(reverse(url_name))

    assert "<!-- Aviso pendiente de revisión y aprobación por el área jurídica" in (
        response.content.decode()
    )


# --- Static files and error pages -------------------------------------------------------------


def test_the_stylesheet_is_served(anonymous):
    # The test settings serve static files from the finders (no collectstatic), through WhiteNoise.
    assert finders.find("css/portal.css")

    response = anonymous.get("/static/css/portal.css")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    css = b"".join(response.streaming_content).decode()
    for component in (".card", ".button", ".form__field", ".table-wrapper", ".notice--error"):
        assert component in css
    assert ".steps" in css
    assert ".definition-list" in css


def test_an_unknown_address_shows_a_spanish_404_page(anonymous):
    response = anonymous.get("/esta-pagina-no-existe/")

    assert response.status_code == 404
    text = text_of(response)
    assert "No encontramos esta página" in text
    assert "Ir a la página de inicio" in text
    assert '<html lang="es-MX">' in response.content.decode()
    assert "Not Found" not in response.content.decode()


def test_the_500_page_renders_without_a_request_or_context_processors():
    # Django's server_error view renders 500.html with an empty context.
    html = get_template("500.html").render()

    assert '<html lang="es-MX">' in html
    assert "Algo salió mal de nuestro lado" in html
    assert '<a class="button" href="/">Ir a la página de inicio</a>' in html


@pytest.mark.django_db
def test_the_csrf_failure_page_is_in_spanish():
    # Given a browser whose form has no valid CSRF token (a page left open too long)
    csrf_client = Client(enforce_csrf_checks=True)

    # When it posts the login form
    response = csrf_client.post(reverse("account_login"), {"login": "a@example.org"})

    # Then it gets an explanation in Spanish
    assert response.status_code == 403
    assert "La página caducó" in response.content.decode()


# --- Mi cuenta ---------------------------------------------------------------------------------


def test_my_account_needs_a_signed_in_user(anonymous):
    response = anonymous.get(reverse("my_account"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_my_account_shows_the_email_and_the_ways_to_change_it(unlinked):
    response = unlinked.get(reverse("my_account"))

    assert response.status_code == 200
    text = text_of(response)
    assert "Mi cuenta" in text
    assert unlinked.user.email in text
    assert "Confirmado" in text
    main = element(response, "main")
    assert f'href="{reverse("account_change_password")}"' in main
    assert f'href="{reverse("account_email")}"' in main
    assert f'href="{reverse("affiliates:my_affiliation")}"' in main
