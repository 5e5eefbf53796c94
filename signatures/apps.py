from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SignaturesConfig(AppConfig):
    name = "signatures"
    verbose_name = _("Firmas electrónicas")

    def ready(self) -> None:
        # Before anything parses a certificate: SAT certificates need a more tolerant asn1crypto.
        from signatures import asn1_compat, checks_system  # noqa: F401 - registers the checks

        asn1_compat.install()

        from isseg_portal.background import schedules_connect
        from signatures import tasks

        schedules_connect(self, tasks.SCHEDULES)
