"""`python manage.py sync_affiliates [--csv FILE] [--loans-csv FILE] [--json]`.

Refreshes the affiliates read model from the institute's database (settings.AFFILIATES_SOURCE)
or from CSV files. Rejected rows do not make the command fail: they are reported (exit code 0).
An unreadable file or an unreachable database is a CommandError (exit code 1), never a
traceback. With --json, stdout carries exactly one JSON object:
{"created": int, "updated": int, "unchanged": int, "rejected": [{"row": int, "reason": str}]};
progress goes to stderr so it never mixes with it.
"""

import json
import textwrap
from argparse import RawDescriptionHelpFormatter
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from affiliates.sources import (
    AFFILIATE_COLUMNS,
    AFFILIATE_OPTIONAL_COLUMNS,
    LOAN_COLUMNS,
    CsvSource,
    DatabaseSource,
    SourceUnavailable,
    source_from_settings,
)
from affiliates.sync import SyncResult, affiliates_sync

PROGRESS_EVERY = 10_000
# A full read waits on the whole view for its first round trip; a person waits only TIMEOUT.
FULL_SYNC_TIMEOUT = 300


class _Progress:
    """Writes a line to stderr each time another PROGRESS_EVERY rows have been processed."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write
        self.rows = 0

    def __call__(self, rows: int) -> None:
        if rows // PROGRESS_EVERY > self.rows // PROGRESS_EVERY:
            self.write(_("Procesadas %(rows)s filas…") % {"rows": f"{rows:,}"})
        self.rows = rows


class Command(BaseCommand):
    help = _(
        "Sincroniza los afiliados del portal con la base de datos del Instituto "
        "(AFFILIATES_SOURCE: las consultas AFFILIATES_SQL y LOANS_SQL) o, con --csv, con "
        "archivos CSV.\n\n"
        "Archivo de afiliados (--csv): UTF-8 (se acepta BOM), separado por comas, con "
        "encabezado y estas columnas: %(columns)s. Fechas AAAA-MM-DD; montos con punto y dos "
        "decimales; sexo H, M o X; estatus activo, pensionado, jubilado o baja. Columnas "
        "opcionales al final: %(optional)s (bloqueado: 0/1 o si/no). Si no vienen, el afiliado "
        "queda no bloqueado.\n\n"
        "Archivo de préstamos (--loans-csv, solo junto con --csv): %(loans)s. Con él, los "
        "préstamos de cada afiliado del archivo se reemplazan por los del archivo (ninguna "
        "fila: sin préstamos); sin él, los préstamos no se tocan.\n\n"
        "Las filas rechazadas se informan con su número de línea (en la base de datos, su "
        "posición en la consulta) y el motivo; no detienen las demás ni cambian el código de "
        "salida. Un archivo ilegible o una base de datos que no responde terminan con código 1."
    ) % {
        "columns": ", ".join(AFFILIATE_COLUMNS),
        "optional": ", ".join(AFFILIATE_OPTIONAL_COLUMNS),
        "loans": ", ".join(LOAN_COLUMNS),
    }

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        # Keep the paragraphs of the help text (argparse would run them together).
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter
        parser.description = "\n\n".join(
            textwrap.fill(paragraph, width=79, break_on_hyphens=False)
            for paragraph in str(self.help).split("\n\n")
        )
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--csv",
            metavar="ARCHIVO",
            help=_("Lee los afiliados de este archivo CSV en lugar de la base del Instituto."),
        )
        parser.add_argument(
            "--loans-csv",
            metavar="ARCHIVO",
            help=_("Lee los préstamos vigentes de este archivo CSV (requiere --csv)."),
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help=_("Imprime en la salida estándar un solo objeto JSON con el resultado."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["loans_csv"] and not options["csv"]:
            raise CommandError(
                _(
                    "--loans-csv solo se acepta junto con --csv: sin --csv los préstamos se "
                    "leen de la base de datos del Instituto."
                )
            )
        progress = _Progress(self.stderr.write)
        try:
            source: CsvSource | DatabaseSource
            if options["csv"]:
                source = CsvSource(affiliates_path=options["csv"], loans_path=options["loans_csv"])
            else:
                timeout = max(settings.AFFILIATES_SOURCE.get("TIMEOUT", 5), FULL_SYNC_TIMEOUT)
                source = source_from_settings(timeout=timeout)
            result = affiliates_sync(source=source, progress=progress)
        except SourceUnavailable as error:
            message = str(error)
            if progress.rows:
                message += " " + _(
                    "Las primeras %(rows)s filas ya quedaron guardadas; vuelva a ejecutar la "
                    "sincronización cuando el origen esté disponible."
                ) % {"rows": f"{progress.rows:,}"}
            raise CommandError(message) from error
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from error
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
        else:
            self._print_summary(result, source=options["csv"])

    def _print_summary(self, result: SyncResult, *, source: str | None) -> None:
        origin = (
            _("el archivo %(path)s") % {"path": source}
            if source
            else _("la base de datos del Instituto")
        )
        write = self.stdout.write
        write(_("Sincronización desde %(origin)s terminada.") % {"origin": origin})
        write(_("  Nuevos:       %(count)s") % {"count": f"{result.created:,}"})
        write(_("  Actualizados: %(count)s") % {"count": f"{result.updated:,}"})
        write(_("  Sin cambios:  %(count)s") % {"count": f"{result.unchanged:,}"})
        write(_("  Rechazados:   %(count)s") % {"count": f"{len(result.rejected):,}"})
        if result.loans_rejected or result.loans_replaced:
            write(
                _(
                    "  Préstamos actualizados en %(count)s afiliados; %(rejected)s filas de "
                    "préstamos rechazadas."
                )
                % {
                    "count": f"{result.loans_replaced:,}",
                    "rejected": f"{len(result.loans_rejected):,}",
                }
            )
        if result.rejected:
            write("")
            write(_("Filas rechazadas de los afiliados:"))
            for rejection in result.rejected:
                write(
                    _("  fila %(row)d: %(reason)s")
                    % {"row": rejection.row, "reason": rejection.reason}
                )
        if result.loans_rejected:
            write("")
            write(_("Filas de préstamos no aplicadas:"))
            for rejection in result.loans_rejected:
                write(
                    _("  fila %(row)d: %(reason)s")
                    % {"row": rejection.row, "reason": rejection.reason}
                )
