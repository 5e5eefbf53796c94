"""The daily sweep of signed files that no record references (a finish or a seal whose record
was not written after its file was: a refusal under the lock, a worker killed in between)."""

import os
import time

from django.core.files.storage import default_storage
from django_q.models import Schedule

from isseg_portal.storage import write_once
from signatures.tasks import SCHEDULES, signed_files_sweep

DAY = 24 * 60 * 60


def aged(name: str, seconds: int) -> None:
    path = default_storage.path(name)
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_unreferenced_files_older_than_a_day_are_deleted_and_nothing_else(
    signed_contract, media_root
):
    referenced = signed_contract.file.name
    aged(referenced, 3 * DAY)
    old_orphan = write_once("firmados/2026/01/0123456789abcdef0123456789abcdef.pdf", b"%PDF-1.7")
    aged(old_orphan, DAY + 60)
    fresh_orphan = write_once("firmados/2026/12/fedcba9876543210fedcba9876543210.pdf", b"%PDF")
    aged(fresh_orphan, DAY - 60 * 60)
    # Not the sweep's: another app's file in the same storage.
    other = write_once("documentos/2026/01/ine.pdf", b"%PDF-1.7")
    aged(other, 3 * DAY)

    assert signed_files_sweep() == 1

    assert not default_storage.exists(old_orphan)
    assert default_storage.exists(fresh_orphan)
    assert default_storage.exists(referenced)
    assert default_storage.exists(other)
    assert signed_contract.file.read()  # still readable through its record
    assert signed_files_sweep() == 0  # run again: nothing more to do


def test_the_sweep_runs_daily(db):
    assert SCHEDULES[signed_files_sweep].minutes == 24 * 60
    schedule = Schedule.objects.get(name="signatures.signed_files_sweep")
    assert schedule.func == "signatures.tasks.signed_files_sweep"
    assert schedule.minutes == 24 * 60
