"""`check_certificate FILE [--curp C] [--rfc R] [--json]`: would the portal accept this e.firma?

Exit status: 0 accepted, 1 refused, 2 the file cannot be read as a certificate. The JSON is
``{"accepted", "reasons", "subject": {"name", "curp", "rfc", "serial", "issuer", "not_before",
"not_after"}}``; scripts rely on these names.
"""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from signatures.checks import Reason, check_certificate


class Command(BaseCommand):
    help = "Revisa un certificado de e.firma contra el almacén de confianza y la revocación."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Certificado .cer (DER) o .pem")
        parser.add_argument("--curp", help="CURP que debe tener el certificado")
        parser.add_argument("--rfc", help="RFC que debe tener el certificado")
        parser.add_argument("--json", action="store_true", help="Salida en JSON")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(
                f"No se puede leer {path}: {error.strerror}", returncode=2
            ) from error
        check = check_certificate(data, curp=options["curp"], rfc=options["rfc"])
        identity = check.identity
        subject = None
        if identity is not None:
            subject = {
                "name": identity.name,
                "curp": identity.curp,
                "rfc": identity.rfc,
                "serial": identity.serial,
                "issuer": identity.issuer,
                "not_before": identity.not_before.isoformat(),
                "not_after": identity.not_after.isoformat(),
            }
        if options["json"]:
            report = {"accepted": check.accepted, "reasons": check.reasons, "subject": subject}
            self.stdout.write(json.dumps(report, ensure_ascii=False, indent=2))
        else:
            self._write_text(check, subject)
        if check.reasons == [Reason.UNREADABLE]:
            sys.exit(2)
        sys.exit(0 if check.accepted else 1)

    def _write_text(self, check, subject) -> None:
        if subject:
            for key, value in subject.items():
                self.stdout.write(f"{key}: {value}")
        self.stdout.write("ACEPTADO" if check.accepted else "RECHAZADO")
        for reason, message in zip(check.reasons, check.messages, strict=True):
            self.stdout.write(f"- {reason}: {message}")
