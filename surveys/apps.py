from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Encuestas")

    def ready(self) -> None:
        from isseg_portal.background import schedules_connect
        from loans.models import LoanApplication
        from loans.services import transition_committed
        from surveys import receivers, tasks

        transition_committed.connect(
            receivers.invite_after_transition,
            sender=LoanApplication,
            dispatch_uid="surveys.invite_after_transition",
        )
        schedules_connect(self, tasks.SCHEDULES)
