"""`python manage.py verify_audit`: check the audit chain of application events.

Exit 0 when the chain is whole; 1, naming the first bad event, when a row was edited or deleted.
"""

from django.core.management.base import BaseCommand, CommandError

from loans.selectors import audit_chain_report


class Command(BaseCommand):
    help = "Verifica la cadena de auditoría de los eventos de las solicitudes."

    def handle(self, *args, **options):
        report = audit_chain_report()
        if report.problem is None:
            self.stdout.write(
                f"Cadena de auditoría íntegra: {report.events_checked} eventos verificados."
            )
            return
        problem = report.problem
        where = (
            f"evento {problem.sequence} (id {problem.event_id})"
            if problem.event_id is not None
            else f"cabeza de la cadena (evento {problem.sequence})"
        )
        raise CommandError(
            f"Cadena de auditoría ALTERADA en {where}: {problem.reason}. "
            f"Eventos íntegros antes de ese punto: {report.events_checked}."
        )
