from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """Demo data, the demo PKI and `seed_demo`: installed only with DJANGO_DEBUG=1 and in the
    tests, never in production (its accounts have a published password)."""

    name = "demo"
    verbose_name = _("Demostración")
