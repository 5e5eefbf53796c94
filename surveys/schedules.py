"""The django-q2 schedules of the surveys app, created or updated after every migrate."""

from django_q.models import Schedule

from isseg_portal.schedules import schedules_connect

SCHEDULES = [
    {
        "name": "surveys.invitations_remind",
        "func": "surveys.services.invitations_remind",
        "schedule_type": Schedule.HOURLY,
    },
]


def connect(sender) -> None:
    schedules_connect(sender, SCHEDULES)
