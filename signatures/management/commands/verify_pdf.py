"""`verify_pdf FILE [--json]`: are the signatures in this PDF good?

Exit status: 0 when ``ok`` (at least one signature, every one with a good bottom line), 1 when
not, 2 when the file is not a readable PDF. The JSON is ``{"ok", "signatures": [{"field",
"signer_name", "curp", "rfc", "intact", "valid", "trusted", "revoked", "bottom_line",
"signing_time", "timestamp", "level", "modification_level", "coverage"}],
"document_timestamps": [...]}``; scripts rely on these names.
"""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from signatures.validation import PdfUnreadable, validate_pdf


class Command(BaseCommand):
    help = "Valida las firmas de un PDF (integridad, confianza, revocación, nivel PAdES)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="PDF firmado")
        parser.add_argument("--json", action="store_true", help="Salida en JSON")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(
                f"No se puede leer {path}: {error.strerror}", returncode=2
            ) from error
        try:
            report = validate_pdf(data)
        except PdfUnreadable:
            if options["json"]:
                self.stdout.write(json.dumps({"ok": False, "error": "unreadable_pdf"}))
            self.stderr.write(f"{path} no es un PDF legible.")
            sys.exit(2)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        else:
            self._write_text(report)
        sys.exit(0 if report.ok else 1)

    def _write_text(self, report) -> None:
        if not report.signatures:
            self.stdout.write("El documento no tiene firmas.")
        for signature in report.signatures:
            verdict = "VÁLIDA" if signature.bottom_line else "NO VÁLIDA"
            self.stdout.write(
                f"{signature.field}: {verdict} · {signature.signer_name} "
                f"(CURP {signature.curp or '-'}, RFC {signature.rfc or '-'}) · "
                f"nivel {signature.level or '-'} · sello de tiempo {signature.timestamp or '-'}"
            )
        self.stdout.write("DOCUMENTO VÁLIDO" if report.ok else "DOCUMENTO NO VÁLIDO")
