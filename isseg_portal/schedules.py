"""The django-q2 schedules each app declares, written (created or updated) after every migrate.

An app lists its schedules as dicts (name, func, schedule_type, optional minutes) and calls
`schedules_connect(app_config, definitions)` from its `ready()`.
"""

from collections.abc import Sequence

from django.db.models.signals import post_migrate


def schedules_connect(sender, definitions: Sequence[dict]) -> None:
    def ensure(**kwargs) -> None:
        from django_q.models import Schedule

        for definition in definitions:
            Schedule.objects.update_or_create(
                name=definition["name"],
                defaults={
                    "func": definition["func"],
                    "schedule_type": definition["schedule_type"],
                    "minutes": definition.get("minutes"),
                    "repeats": -1,
                },
            )

    # weak=False: `ensure` is a closure that nothing else keeps alive.
    post_migrate.connect(
        ensure, sender=sender, dispatch_uid=f"{sender.label}.schedules", weak=False
    )
