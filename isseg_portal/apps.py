from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "isseg_portal"
    verbose_name = _("Portal")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from isseg_portal.sessions import session_mark_login

        def start_session_clocks(sender, request, user, **kwargs):
            if request is not None and hasattr(request, "session"):
                session_mark_login(request)

        user_logged_in.connect(start_session_clocks, dispatch_uid="isseg_session_clocks")
        # allauth's counters and TOTP markers in the cache alias that never evicts them.
        from isseg_portal.counters import allauth_counters_route

        allauth_counters_route()
        # Production checks of the portal's own settings (check --deploy), and the portal's
        # own clean-ups (expired sessions, old failed tasks) on a schedule.
        from isseg_portal import checks, tasks  # noqa: F401
        from isseg_portal.background import schedules_connect

        schedules_connect(self, tasks.SCHEDULES)
