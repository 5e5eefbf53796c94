"""Background work queued once the current transaction commits.

Every side effect of a change (an email, a seal, a survey invitation's email) runs in a django-q2
task queued by `enqueue_on_commit`, never inside the transaction that made the change: a rolled
back change queues nothing, and a slow or failing effect never holds or undoes the change.

Callers pass the task function itself, not its dotted name, so a renamed or moved task is an
import error at once instead of a task that fails in the worker. The queue stores the dotted
name (what a worker imports and what the admin's queue shows).

Each app declares its tasks in its own `tasks.py`, with the schedules of those that run
periodically (`schedules_connect`, from the app's ready()).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import AppConfig, apps
from django.db import transaction
from django.db.models.signals import post_migrate
from django_q.tasks import async_task


def task_name(func: Callable[..., Any]) -> str:
    """The dotted path a worker imports `func` by: "loans.tasks.notify_event"."""
    name = f"{func.__module__}.{func.__qualname__}"
    if "<" in name or "." in func.__qualname__:
        # A lambda, a closure or a method cannot be imported by a worker.
        raise ValueError(f"A task must be a module-level function, not {name}.")
    return name


def enqueue_on_commit(func: Callable[..., Any], *args: Any, group: str | None = None) -> None:
    """Queue `func(*args)` for a worker after the current transaction commits (at once when
    there is none). The arguments must be plain values (ids, not model instances)."""
    name = task_name(func)
    transaction.on_commit(lambda: async_task(name, *args, group=group or func.__module__))


@dataclass(frozen=True)
class Every:
    """How often a schedule runs: hourly, or every `minutes`."""

    minutes: int = 60


def schedules_connect(sender: AppConfig, schedules: dict[Callable[..., Any], Every]) -> None:
    """Write the app's django-q2 schedules after every migrate: each task function with how
    often it runs, named "<app label>.<function>". Schedules under the app's label that it no
    longer declares (a task that moved to another app) are deleted. Called from ready()."""
    prefix = f"{sender.label}."
    definitions = {
        prefix + func.__name__: (task_name(func), every) for func, every in schedules.items()
    }

    def ensure(**kwargs) -> None:
        from django_q.models import Schedule

        for name, (func, every) in definitions.items():
            hourly = every.minutes == 60
            Schedule.objects.update_or_create(
                name=name,
                defaults={
                    "func": func,
                    "schedule_type": Schedule.HOURLY if hourly else Schedule.MINUTES,
                    "minutes": None if hourly else every.minutes,
                    "repeats": -1,
                },
            )
        Schedule.objects.filter(name__startswith=prefix).exclude(name__in=definitions).delete()

    # After django_q's own migrate, whose Schedule table this writes: Django sends post_migrate
    # only for apps with models, which an app with schedules need not have. weak=False: `ensure`
    # is a closure that nothing else keeps alive.
    post_migrate.connect(
        ensure,
        sender=apps.get_app_config("django_q"),
        dispatch_uid=f"{sender.label}.schedules",
        weak=False,
    )
