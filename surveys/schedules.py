"""The django-q2 schedules of the surveys app, created or updated after every migrate."""

from django.db.models.signals import post_migrate
from django_q.models import Schedule

SCHEDULES = [
    {
        "name": "surveys.invitations_remind",
        "func": "surveys.services.invitations_remind",
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
    post_migrate.connect(ensure_schedules, sender=sender, dispatch_uid="surveys.schedules")
