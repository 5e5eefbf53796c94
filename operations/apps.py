from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = _("Operación")

    def ready(self) -> None:
        from isseg_portal.background import schedules_connect
        from operations import tasks

        schedules_connect(self, tasks.SCHEDULES)
