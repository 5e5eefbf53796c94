"""`demo_pki setup | serve | issue`: the demo certification authority of the portal.

    manage.py demo_pki setup
    manage.py demo_pki serve [--host H] [--port P]
    manage.py demo_pki issue --curp C --rfc R --name N --out DIR [--password P]

`setup` generates the keys that are missing (never overwrites them), writes the trust store, the
sample certificates (a revoked and an expired one) and the institute's seal as a PKCS#12
(DEMO_PKI_DIR/seal.p12, and its password DEMO_SEAL_PASSWORD in DEMO_PKI_DIR/seal.password: the
defaults of SIGNATURES_SEAL_PKCS12 and SIGNATURES_SEAL_PASSWORD_FILE). `serve` answers OCSP,
CRL and TSA on DEMO_PKI_HOST:DEMO_PKI_PORT. `issue` writes `DIR/<curp>.cer` (DER) and
`DIR/<curp>.key` (encrypted PKCS#8 DER, as the SAT's) and prints the key's password.
"""

import datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from stdnum.mx import curp as curp_number
from stdnum.mx import rfc as rfc_number

from demo.pki.authority import DEMO_KEY_PASSWORD, DEMO_SEAL_PASSWORD, DemoPKI
from demo.pki.server import DemoPKIApplication

# Two certificates every demo PKI carries, for trying the refusals by hand: made-up people with
# valid CURP and RFC (check digits included), the same on every machine.
SAMPLES = {
    "revocado": {
        "curp": "RAAJ800101HMCMLS56",
        "rfc": "RAAJ8001018E6",
        "name": "JOSE RAMIREZ ALVAREZ",
    },
    "vencido": {
        "curp": "MACG800101MGTRMD21",
        "rfc": "MACG8001016M5",
        "name": "GUADALUPE MARTINEZ CAMPOS",
    },
}


class Command(BaseCommand):
    help = "PKI de demostración: genera llaves, sirve OCSP/CRL/TSA y emite certificados."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("setup", help="Genera las llaves faltantes y el almacén de confianza.")
        serve = actions.add_parser("serve", help="Sirve OCSP, CRL y TSA por HTTP.")
        serve.add_argument("--host", default=settings.DEMO_PKI_HOST)
        serve.add_argument("--port", type=int, default=settings.DEMO_PKI_PORT)
        issue = actions.add_parser("issue", help="Emite un certificado de solicitante.")
        issue.add_argument("--curp", required=True)
        issue.add_argument("--rfc", required=True)
        issue.add_argument("--name", required=True)
        issue.add_argument("--out", required=True)
        issue.add_argument("--password", help="Contraseña de la llave (si no, se genera).")

    def handle(self, *args, **options):
        pki = DemoPKI.from_settings()
        action = options["action"]
        if action == "setup":
            self._setup(pki)
        elif action == "serve":
            self._serve(pki, options["host"], options["port"])
        else:
            self._issue(pki, options)

    def _setup(self, pki: DemoPKI) -> None:
        created = pki.ensure()
        if created:
            self.stdout.write(f"Llaves nuevas de la PKI de demostración: {', '.join(created)}")
        samples = pki.directory / "muestras"
        if created or not samples.exists():
            now = datetime.datetime.now(datetime.UTC)
            revoked = pki.issue(
                **SAMPLES["revocado"],
                out_dir=samples,
                password=DEMO_KEY_PASSWORD,
                revoked=True,
            )
            expired = pki.issue(
                **SAMPLES["vencido"],
                out_dir=samples,
                password=DEMO_KEY_PASSWORD,
                not_before=now - datetime.timedelta(days=800),
                not_after=now - datetime.timedelta(days=30),
            )
            self.stdout.write(
                f"Certificados de muestra (contraseña {DEMO_KEY_PASSWORD}): revocado "
                f"{revoked.certificate_path}, vencido {expired.certificate_path}"
            )
        # New keys mean a new seal certificate (or a new issuer of it): the old file is stale.
        password_file = pki.seal_path.with_name("seal.password")
        if created or not pki.seal_path.exists() or not password_file.exists():
            seal = pki.export_seal(DEMO_SEAL_PASSWORD)
            self.stdout.write(f"Sello institucional (contraseña {DEMO_SEAL_PASSWORD}): {seal}")
        self.stdout.write(f"Almacén de confianza: {pki.trust_dir}")

    def _serve(self, pki: DemoPKI, host: str, port: int) -> None:
        from werkzeug.serving import run_simple

        if not (pki.keys_dir / "root.key.pem").exists():
            raise CommandError("La PKI de demostración no existe: ejecuta «demo_pki setup».")
        self.stdout.write(f"PKI de demostración en http://{host}:{port}/ (OCSP, CRL, TSA)")
        run_simple(host, port, DemoPKIApplication(pki), threaded=True)

    def _issue(self, pki: DemoPKI, options) -> None:
        curp = options["curp"].strip().upper()
        rfc = options["rfc"].strip().upper()
        if not curp_number.is_valid(curp):
            raise CommandError(f"La CURP {curp} no es válida.")
        if not rfc_number.is_valid(rfc):
            raise CommandError(f"El RFC {rfc} no es válido.")
        pki.ensure()
        issued = pki.issue(
            curp=curp,
            rfc=rfc,
            name=options["name"].strip().upper(),
            out_dir=options["out"],
            password=options["password"],
        )
        self.stdout.write(f"Certificado: {issued.certificate_path}")
        self.stdout.write(f"Llave privada: {issued.key_path}")
        self.stdout.write(f"Contraseña de la llave: {issued.password}")
