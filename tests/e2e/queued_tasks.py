"""django-q2's queue, worked in-process: what a `qcluster` worker would do, on demand.

The portal queues its background work (the seal after an approval, the notices of each
transition, the survey invitations) into the ORM broker after the transaction commits. No
cluster runs in the tests, so a test that needs that work done calls `run_queued_tasks` at the
moment a worker would have picked it up.

The tasks run in a thread of their own, as in a worker process: the browser tests' thread runs
Playwright's event loop, and code that starts one of its own (pyHanko signing the seal, through
`asyncio.run`) cannot run there.
"""

import threading

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils.module_loading import import_string
from django_q.models import OrmQ

# A task may queue others (nothing does today); a queue that never empties is a bug.
MAX_ROUNDS = 5


def run_queued_tasks(*, connections_override: dict[str, BaseDatabaseWrapper]) -> list[str]:
    """Run every queued task, oldest first, until the queue is empty; return their names.

    `connections_override` are the live server's shared connections (SQLite in memory: another
    connection would not see the same database); pass `live_server.thread.connections_override`.
    An exception in a task is raised here: in a test it is a failure, not something to retry.
    """
    outcome: dict[str, object] = {}

    def work() -> None:
        for alias, connection in connections_override.items():
            connections[alias] = connection
        try:
            outcome["ran"] = _work_the_queue()
        except BaseException as error:  # handed to the test's thread, raised there
            outcome["error"] = error
        finally:
            for connection in connections.all(initialized_only=True):
                if connection.alias not in connections_override:
                    connection.close()

    worker = threading.Thread(target=work, name="django-q-worker")
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["ran"]


def _work_the_queue() -> list[str]:
    ran = []
    for _round in range(MAX_ROUNDS):
        queued = list(OrmQ.objects.order_by("pk"))
        if not queued:
            return ran
        for row in queued:
            # What a worker does with each: decode the signed package, call the function with
            # its arguments, acknowledge (here, remove it from the queue).
            package = row.task
            assert "func" in package, f"undecodable task in the queue: {package.get('id')}"
            func = package["func"]
            name = func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"
            call = import_string(func) if isinstance(func, str) else func
            call(*package.get("args") or (), **package.get("kwargs") or {})
            row.delete()
            ran.append(name)
    raise AssertionError(f"the task queue is still not empty after {MAX_ROUNDS} rounds: {ran}")
