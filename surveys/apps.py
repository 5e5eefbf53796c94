from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Encuestas y tablero")

    def ready(self) -> None:
        from loans.models import LoanApplication
        from loans.services import transition_recorded
        from surveys import receivers, schedules

        transition_recorded.connect(
            receivers.invite_after_transition,
            sender=LoanApplication,
            dispatch_uid="surveys.invite_after_transition",
        )
        schedules.connect(self)
