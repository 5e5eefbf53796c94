from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = _("Tablero del programa")

    def ready(self) -> None:
        from dashboard import reporting, tasks
        from isseg_portal.background import schedules_connect
        from loans.models import LoanApplication
        from loans.services import transition_recorded

        # Every event of an application marks its month's figures stale, in its transaction.
        transition_recorded.connect(
            reporting.tally_mark_stale,
            sender=LoanApplication,
            dispatch_uid="dashboard.tally_mark_stale",
        )
        schedules_connect(self, tasks.SCHEDULES)
