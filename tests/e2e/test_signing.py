"""Signing the contract in a real browser: the key is decrypted and used on the device only.

The page (templates/loans/sign.html, static/js/signing.js) is driven as the applicant
would: choose the .cer and the .key, type the password, accept, press "Firmar contrato". Every
request the page makes is recorded with its body, to show that only the certificate and the
signature value reach the portal.
"""

import base64
import binascii
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_der_private_key,
)
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import Page, Request, expect

from loans.models import ApplicationStatus
from tests.e2e.signing_page import Efirma, fill_in, press_sign

SAT = Path(__file__).resolve().parent.parent / "fixtures" / "sat"
FIEL = SAT / "FIEL_AAA010101AAA"
CSD = SAT / "CSD01_AAA010101AAA"


SAT_FIEL = Efirma(
    FIEL / "certificate.cer",
    FIEL / "private_key.key",
    (FIEL / "password.txt").read_text(),
)

WRONG_PASSWORD = "no-es-la-contrasena"


@dataclass
class RequestLog:
    """Every request a page makes from the moment it is attached, with its body."""

    page: Page
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Passing every request through a route makes Chromium hand Playwright the bodies of
        # the page's POSTs (without it, a multipart body with a file is not reported at all).
        self.page.route("**/*", lambda route: route.continue_())
        self.page.on("request", self._record)

    def _record(self, request: Request) -> None:
        self.requests.append(request)

    def calls(self) -> list[tuple[str, str]]:
        """(method, path) of every request that is not a static file."""
        static = "/" + settings.STATIC_URL.lstrip("/")
        return [
            (request.method, urlsplit(request.url).path)
            for request in self.requests
            if not urlsplit(request.url).path.startswith(static)
        ]

    def posts(self) -> list[Request]:
        return [request for request in self.requests if request.method != "GET"]


def sign_path(application) -> str:
    return reverse("loans:sign", kwargs={"public_id": application.public_id})


def api_paths(page: Page) -> tuple[str, str]:
    form = page.locator("#signing-form")
    return form.get_attribute("data-prepare-url"), form.get_attribute("data-complete-url")


def wait_until_the_attempt_ends(page: Page) -> None:
    # Polled from here, not with wait_for_function: that evaluates a string in the page, which
    # the Content-Security-Policy refuses (no 'unsafe-eval').
    expect(page.locator("#signing-form")).to_have_attribute("aria-busy", "false", timeout=30_000)


def step(page: Page, name: str):
    return page.locator(f'#signing-steps [data-step="{name}"]')


def error_area(page: Page):
    return page.locator("#signing-error")


def selected_files(page: Page, input_id: str) -> int:
    return page.eval_on_selector(f"#{input_id}", "input => input.files.length")


def secrets_of(efirma: Efirma) -> dict[str, bytes]:
    """What must never leave the device, in the forms it could take on the wire.

    The key file as it is, and the private numbers inside it; not the whole decrypted key,
    which also holds the public modulus that the certificate carries too.
    """
    key_file = efirma.key_path.read_bytes()
    private_key = load_der_private_key(key_file, efirma.password.encode())
    numbers = private_key.private_numbers()
    secrets = {
        "the password": efirma.password.encode(),
        "the password, URL-encoded": quote(efirma.password, safe="").encode(),
        "the password in base64": base64.b64encode(efirma.password.encode()),
        "the .key file in base64": base64.b64encode(key_file),
        "the .key file in hex": binascii.hexlify(key_file),
        "the decrypted key in base64": base64.b64encode(
            private_key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        ),
    }
    # Any stretch of 32 bytes of the .key file or of a private number, as raw bytes.
    stretches = {
        "the .key file": key_file,
        "the private exponent": _big_endian(numbers.d),
        "the first prime": _big_endian(numbers.p),
        "the second prime": _big_endian(numbers.q),
    }
    for name, data in stretches.items():
        for start in range(0, len(data) - 32, 16):
            secrets[f"{name}, bytes {start}-{start + 32}"] = data[start : start + 32]
    return secrets


def _big_endian(number: int) -> bytes:
    return number.to_bytes((number.bit_length() + 7) // 8, "big")


def assert_nothing_secret_sent(log: RequestLog, efirma: Efirma) -> None:
    secrets = secrets_of(efirma)
    for request in log.requests:
        if request.method != "GET":
            # A body Playwright could not see would make this check pass for nothing.
            assert request.post_data_buffer is not None, f"no body seen for {request.url}"
        wire = b"\n".join(
            [
                request.url.encode(),
                *(f"{name}: {value}".encode() for name, value in request.all_headers().items()),
                request.post_data_buffer or b"",
            ]
        )
        leaked = [name for name, secret in secrets.items() if secret in wire]
        assert not leaked, f"{request.method} {request.url} carries {leaked}"


# --- On the device ------------------------------------------------------------------------------


def test_the_sat_key_is_decrypted_and_matched_on_the_device_then_the_portal_refuses_it(
    applicant_page, complete_draft, demo_pki
):
    # Given the signing page of a complete draft, and the SAT's test e.firma (expired, and
    # issued by a CA the portal does not trust)
    page = applicant_page
    page.goto(sign_path(complete_draft))
    prepare_path, _ = api_paths(page)

    # When the applicant chooses its files, types the right password and signs
    fill_in(page, SAT_FIEL)
    with page.expect_response(lambda response: response.url.endswith(prepare_path)) as answer:
        press_sign(page)
    wait_until_the_attempt_ends(page)

    # Then the page read the files, decrypted the key and found it matches the certificate
    for name in ("read", "decrypt", "match"):
        expect(step(page, name)).to_have_attribute("data-state", "done")
        expect(step(page, name)).to_contain_text("Hecho")
    # and the portal refused the certificate, saying why, before anything was signed
    refusal = answer.value
    assert refusal.status == 422
    body = refusal.json()
    assert body["error"] == "certificate_refused"
    assert {"expired", "untrusted_chain"} <= set(body["reasons"])
    expect(error_area(page)).to_contain_text(body["message"])
    expect(step(page, "validate")).to_have_attribute("data-state", "failed")
    expect(step(page, "validate")).to_contain_text("No se completó")
    expect(step(page, "sign")).to_have_attribute("data-state", "pending")
    # The button works again, the password is gone, and the files are still chosen for a retry.
    expect(page.get_by_role("button", name="Firmar contrato")).to_be_enabled()
    expect(page.get_by_label("Contraseña de la llave privada")).to_have_value("")
    assert selected_files(page, "signing-certificate") == 1
    assert selected_files(page, "signing-key") == 1
    complete_draft.refresh_from_db()
    assert complete_draft.status == ApplicationStatus.DRAFT


def test_a_wrong_password_is_said_on_the_device_and_nothing_is_sent(applicant_page, complete_draft):
    # Given the signing page, loaded
    page = applicant_page
    page.goto(sign_path(complete_draft))
    log = RequestLog(page)

    # When the applicant types a wrong password for their key and signs
    fill_in(page, SAT_FIEL, password=WRONG_PASSWORD)
    press_sign(page)
    wait_until_the_attempt_ends(page)

    # Then the page says so, at the decryption step, and asks for the password again
    expect(error_area(page)).to_have_text(
        "Error: La contraseña de la llave privada no es correcta."
    )
    expect(step(page, "read")).to_have_attribute("data-state", "done")
    expect(step(page, "decrypt")).to_have_attribute("data-state", "failed")
    password = page.get_by_label("Contraseña de la llave privada")
    expect(password).to_have_value("")
    expect(password).to_be_focused()
    # and the page asked the portal for nothing
    assert log.calls() == []


def test_a_key_of_another_certificate_is_refused_on_the_device(applicant_page, complete_draft):
    # Given the SAT's e.firma certificate, and the key of its CSD (another certificate)
    page = applicant_page
    page.goto(sign_path(complete_draft))
    log = RequestLog(page)
    mixed = Efirma(SAT_FIEL.cer_path, CSD / "private_key.key", (CSD / "password.txt").read_text())

    # When the applicant signs with them
    fill_in(page, mixed)
    press_sign(page)
    wait_until_the_attempt_ends(page)

    # Then the key was decrypted, the mismatch is said, and nothing was sent
    expect(step(page, "decrypt")).to_have_attribute("data-state", "done")
    expect(step(page, "match")).to_have_attribute("data-state", "failed")
    expect(error_area(page)).to_have_text("Error: La llave privada no corresponde al certificado.")
    assert log.calls() == []


def test_choosing_the_key_as_the_certificate_is_explained(applicant_page, complete_draft):
    page = applicant_page
    page.goto(sign_path(complete_draft))
    swapped = Efirma(SAT_FIEL.key_path, SAT_FIEL.cer_path, SAT_FIEL.password)

    fill_in(page, swapped)
    press_sign(page)
    wait_until_the_attempt_ends(page)

    expect(error_area(page)).to_contain_text(
        "El archivo que elegiste como certificado es una llave privada (.key); selecciona el "
        "certificado (.cer)."
    )
    expect(step(page, "read")).to_have_attribute("data-state", "failed")


def test_signing_waits_for_every_file_the_password_and_the_consent(applicant_page, complete_draft):
    page = applicant_page
    page.goto(sign_path(complete_draft))
    log = RequestLog(page)

    press_sign(page)

    expect(error_area(page)).to_have_text("Error: Selecciona tu certificado (.cer).")
    expect(page.get_by_label("Certificado (.cer)")).to_be_focused()
    fill_in(page, SAT_FIEL)
    page.get_by_label("He leído el contrato y acepto firmarlo con mi e.firma").uncheck()
    press_sign(page)
    expect(error_area(page)).to_contain_text("marca la casilla que confirma que leíste el contrato")
    assert log.calls() == []


# --- What reaches the portal ------------------------------------------------------------------


def test_neither_the_password_nor_the_key_leaves_the_device(
    applicant_page, live_server, complete_draft, demo_pki
):
    # Given every request of the page recorded from the moment it opens
    page = applicant_page
    log = RequestLog(page)
    page.goto(sign_path(complete_draft))
    prepare_path, _ = api_paths(page)

    # When the applicant signs with the SAT's e.firma (the portal refuses it after prepare)
    fill_in(page, SAT_FIEL)
    press_sign(page)
    wait_until_the_attempt_ends(page)

    # Then the page asked for itself and its static files, and posted to prepare only, from
    # this origin only
    assert log.calls() == [("GET", sign_path(complete_draft)), ("POST", prepare_path)]
    origin = live_server.url
    assert all(request.url.startswith(origin + "/") for request in log.requests)
    # What it posted is the certificate, as a file, and nothing else
    (prepare,) = log.posts()
    body = prepare.post_data_buffer
    assert SAT_FIEL.cer_path.read_bytes() in body
    assert re.findall(rb'; name="([^"]+)"', body) == [b"certificate"]
    # and no request carried the password or any part of the key
    assert_nothing_secret_sent(log, SAT_FIEL)


def test_sign_with_demo_certificate(applicant_page, complete_draft, demo_credentials):
    # Given an e.firma of the demo PKI issued to the applicant's CURP and RFC
    page = applicant_page
    log = RequestLog(page)
    page.goto(sign_path(complete_draft))
    prepare_path, complete_path = api_paths(page)

    # When the applicant signs with it
    fill_in(page, demo_credentials)
    press_sign(page)

    # Then the page says the contract is signed, every step done
    expect(page.get_by_role("heading", name="Contrato firmado")).to_be_visible()
    expect(page.get_by_role("heading", name="Contrato firmado")).to_be_focused()
    for name in ("read", "decrypt", "match", "validate", "sign", "seal"):
        expect(step(page, name)).to_have_attribute("data-state", "done")
    expect(page.locator("#signing-form")).to_be_hidden()
    expect(error_area(page)).to_be_empty()
    # with a link back to the application
    expect(page.get_by_role("link", name="Ir a mi solicitud")).to_have_attribute(
        "href",
        reverse("loans:application_detail", kwargs={"public_id": complete_draft.public_id}),
    )
    # and a link to the signed PDF, which downloads
    download = page.get_by_role("link", name="Descargar el contrato firmado (PDF)")
    document = page.request.get(download.get_attribute("href"))
    assert document.ok
    assert document.body().startswith(b"%PDF")
    # The application is signed
    complete_draft.refresh_from_db()
    assert complete_draft.status == ApplicationStatus.SIGNED
    # The page posted the certificate, then the signature, and never the key or its password
    assert [call for call in log.calls() if call[0] != "GET"] == [
        ("POST", prepare_path),
        ("POST", complete_path),
    ]
    _, finish = log.posts()
    assert sorted(parse_qs(finish.post_data)) == ["session", "signature"]
    assert_nothing_secret_sent(log, demo_credentials)


def test_a_contract_changed_while_signing_is_explained_and_signed_again(
    applicant_page, complete_draft, demo_credentials
):
    from loans.services import application_complete, application_save_bank_account
    from tests.builders import with_check_digit

    # Given a page whose contract changes (another tab saved a new CLABE and confirmed it)
    # after the signature was prepared and before it is finished
    page = applicant_page
    page.goto(sign_path(complete_draft))
    _prepare_path, complete_path = api_paths(page)
    new_clabe = with_check_digit("01218070123456789")

    def edit_then_finish(route) -> None:
        application_save_bank_account(
            application=complete_draft, clabe=new_clabe, account_is_own=True
        )
        application_complete(application=complete_draft, privacy_accepted=True, terms_accepted=True)
        route.continue_()

    page.route(f"**{complete_path}", edit_then_finish, times=1)

    # When the applicant signs
    fill_in(page, demo_credentials)
    press_sign(page)

    # Then the page says the contract changed, nothing was signed, and how to start again
    expect(error_area(page)).to_contain_text("Los datos del contrato cambiaron")
    expect(error_area(page)).to_contain_text("Vuelve a cargar esta página")
    expect(step(page, "seal")).to_have_attribute("data-state", "failed")
    complete_draft.refresh_from_db()
    assert complete_draft.status == ApplicationStatus.DRAFT

    # And after reloading, the same e.firma signs the contract as it is now
    page.get_by_role("link", name="Volver a cargar la página").click()
    expect(error_area(page)).to_be_empty()
    fill_in(page, demo_credentials)
    press_sign(page)
    expect(page.get_by_role("heading", name="Contrato firmado")).to_be_visible()
    complete_draft.refresh_from_db()
    assert complete_draft.status == ApplicationStatus.SIGNED
    assert complete_draft.clabe == new_clabe
