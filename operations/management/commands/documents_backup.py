"""`manage.py documents_backup ARCHIVE.tar[.gz]`: every document, checked by SHA-256.

Exit status 0 when every document was copied with the hash the database records, 1 when any
is missing or altered (the rest are still copied, and each problem is listed).
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from isseg_portal.management.progress import Progress
from operations.backups import documents_backup


class Command(BaseCommand):
    help = "Copia todos los documentos a un archivo tar, verificando el SHA-256 de cada uno."

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path, help="Archivo .tar o .tar.gz a escribir.")

    def handle(self, *args, archive: Path, **options):
        if not archive.parent.is_dir():
            raise CommandError(f"No existe la carpeta {archive.parent}")
        outcome = documents_backup(archive, Progress(self.stderr, "Respaldando"))
        for problem in outcome.problems:
            self.stderr.write(self.style.ERROR(problem))
        self.stdout.write(
            f"{outcome.written} de {outcome.total} documentos respaldados en {archive}; "
            f"SHA-256 verificado en cada uno."
        )
        if not outcome.ok:
            raise CommandError(f"{len(outcome.problems)} documentos con problemas (arriba).")
