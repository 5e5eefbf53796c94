"""`manage.py documents_restore ARCHIVE [--verify-only] [--replace-damaged]`.

Restores the documents of a `documents_backup` archive whose SHA-256 matches both the archive's
manifest and the database (restore the database first). Exit status 1 when any file was refused.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from isseg_portal.management.progress import Progress
from operations.backups import documents_restore


class Command(BaseCommand):
    help = "Restaura los documentos de un respaldo, verificando el SHA-256 de cada uno."

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path, help="Archivo escrito por documents_backup.")
        parser.add_argument(
            "--verify-only",
            action="store_true",
            help="Solo verificar el respaldo contra la base de datos, sin escribir nada.",
        )
        parser.add_argument(
            "--replace-damaged",
            action="store_true",
            help="Reemplazar los archivos presentes cuyo SHA-256 no coincide con la base.",
        )

    def handle(self, *args, archive: Path, verify_only: bool, replace_damaged: bool, **options):
        if not archive.is_file():
            raise CommandError(f"No existe el respaldo {archive}")
        outcome = documents_restore(
            archive,
            Progress(self.stderr, "Verificando" if verify_only else "Restaurando"),
            verify_only=verify_only,
            replace_damaged=replace_damaged,
        )
        for problem in outcome.problems:
            self.stderr.write(self.style.ERROR(problem))
        verb = "se pueden restaurar" if verify_only else "restaurados"
        self.stdout.write(
            f"{outcome.written} documentos {verb}, {outcome.skipped} ya estaban íntegros, "
            f"de {outcome.total} en el respaldo."
        )
        if not outcome.ok:
            raise CommandError(f"{len(outcome.problems)} documentos rechazados (arriba).")
