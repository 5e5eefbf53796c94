from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoansConfig(AppConfig):
    name = "loans"
    verbose_name = _("Préstamos")

    def ready(self) -> None:
        from isseg_portal.background import schedules_connect
        from loans import tasks

        schedules_connect(self, tasks.SCHEDULES)
