"""`python manage.py verify_audit`: check the audit chain of application events.

Exit 0 when the chain is whole; 1, naming the first bad event, when a row was edited or deleted.
"""

from django.core.management.base import BaseCommand, CommandError

from loans import audit
from loans.models import ApplicationEvent, AuditChainHead


class Command(BaseCommand):
    help = "Verifica la cadena de auditoría de los eventos de las solicitudes."

    def handle(self, *args, **options):
        head = AuditChainHead.objects.filter(pk=1).first()
        rows = (
            {**row, "folio": row.pop("application__folio")}
            for row in ApplicationEvent.objects.order_by("sequence")
            .values(
                "id",
                "sequence",
                "application_id",
                "application__folio",
                "from_status",
                "to_status",
                "actor_id",
                "reason",
                "ip_address",
                "created_at",
                "previous_hash",
                "hash",
            )
            .iterator(chunk_size=2000)
        )
        report = audit.verify_chain(
            rows,
            head_sequence=head.last_sequence if head else None,
            head_hash=head.last_hash if head else None,
        )
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
