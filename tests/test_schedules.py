"""Every app's periodic tasks are scheduled after migrate, under "<app label>.<function>", and
each schedule names a function a worker can import."""

import pytest
from django.apps import apps
from django.utils.module_loading import import_string
from django_q.models import Schedule

from isseg_portal.background import task_name

pytestmark = pytest.mark.django_db


def declared() -> dict[str, str]:
    """{schedule name: dotted function} of every installed app's tasks.SCHEDULES."""
    schedules = {}
    for config in apps.get_app_configs():
        try:
            tasks = import_string(f"{config.name}.tasks")
        except ImportError:
            continue
        for func in getattr(tasks, "SCHEDULES", {}):
            schedules[f"{config.label}.{func.__name__}"] = task_name(func)
    return schedules


def test_every_declared_schedule_is_in_the_table_once_migrated():
    wanted = declared()
    # Including the apps without models of their own (operations).
    assert "operations.audit_chain_check" in wanted
    in_table = dict(Schedule.objects.filter(name__in=wanted).values_list("name", "func"))
    assert in_table == wanted
    for func in in_table.values():
        assert callable(import_string(func))


def test_a_schedule_an_app_no_longer_declares_is_removed_on_migrate():
    from django.core.management import call_command

    Schedule.objects.create(name="loans.a_task_that_moved", func="loans.tasks.gone")
    Schedule.objects.create(name="prueba", func="math.floor")

    call_command("migrate", verbosity=0)

    names = set(Schedule.objects.values_list("name", flat=True))
    assert "loans.a_task_that_moved" not in names
    assert "prueba" in names  # not named after an app: not ours to remove
