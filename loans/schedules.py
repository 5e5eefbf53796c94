"""The django-q2 schedules of the loans app, created or updated after every migrate."""

from django.db.models.signals import post_migrate
from django_q.models import Schedule

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
        # The signatures app's own housekeeping, scheduled here with the rest.
        "name": "signatures.signing_sessions_purge",
        "func": "signatures.tasks.signing_sessions_purge",
        "schedule_type": Schedule.HOURLY,
    },
]


def ensure_schedules(**kwargs) -> None:
    for definition in SCHEDULES:
        Schedule.objects.update_or_create(
            name=definition["name"],
            defaults={
                "func": definition["func"],
                "schedule_type": definition["schedule_type"],
                "minutes": definition.get("minutes"),
                "repeats": -1,
            },
        )


def connect(sender) -> None:
    post_migrate.connect(ensure_schedules, sender=sender, dispatch_uid="loans.schedules")
