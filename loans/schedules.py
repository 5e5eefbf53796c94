"""The django-q2 schedules of the loans app, created or updated after every migrate."""

from django_q.models import Schedule

from isseg_portal.schedules import schedules_connect

SCHEDULES = [
    {
        "name": "loans.expire_stale_drafts",
        "func": "loans.tasks.expire_stale_drafts",
        "schedule_type": Schedule.HOURLY,
    },
    {
        "name": "loans.staff_digest",
        "func": "loans.notifications.staff_digest",
        "schedule_type": Schedule.HOURLY,
    },
    {
        # Retries the seals that a TSA or revocation service outage left pending.
        "name": "loans.seal_pending_contracts",
        "func": "loans.tasks.seal_pending_contracts",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
    },
    {
        # The program's figures of the months touched since the last visit to the dashboard,
        # so that the next visit finds them ready (it would recompute them itself otherwise).
        "name": "loans.tally_refresh_stale",
        "func": "loans.reporting.tally_refresh_stale",
        "schedule_type": Schedule.MINUTES,
        "minutes": 10,
    },
    {
        # The signatures app's own housekeeping, scheduled here with the rest.
        "name": "signatures.signing_sessions_purge",
        "func": "signatures.tasks.signing_sessions_purge",
        "schedule_type": Schedule.HOURLY,
    },
]


def connect(sender) -> None:
    schedules_connect(sender, SCHEDULES)
