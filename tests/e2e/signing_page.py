"""The signing page driven as the applicant drives it: the .cer and the .key chosen, the
password typed, the contract accepted, "Firmar contrato" pressed."""

from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page

from tests.signatures.credentials import Credentials


@dataclass(frozen=True)
class Efirma:
    """Files on the applicant's device: a certificate, a key and the key's password."""

    cer_path: Path
    key_path: Path
    password: str


def fill_in(page: Page, efirma: Efirma | Credentials, *, password: str | None = None) -> None:
    page.get_by_label("Certificado (.cer)").set_input_files(efirma.cer_path)
    page.get_by_label("Llave privada (.key)").set_input_files(efirma.key_path)
    page.get_by_label("Contraseña de la llave privada").fill(
        efirma.password if password is None else password
    )
    page.get_by_label("He leído el contrato y acepto firmarlo con mi e.firma").check()


def press_sign(page: Page) -> None:
    page.get_by_role("button", name="Firmar contrato").click()
