"""Enqueue a Celery task by its name.

A module that enqueues work (the schedule publishing evaluations, the outbox sending
deliveries) names the task instead of importing the module that defines it, which
imports it back (`alerts_app.tasks` -> `schedule` -> `lifecycle` -> `outbox` -> `tasks`).

`send(name, args, **options)` calls the registered task's own `apply_async`: the same
routing, queue, options and eager mode as calling it on the task object. A process that
has not loaded the task modules yet (a web process) loads them as a worker does, through
the Celery app's autodiscovery.
"""

from celery import Task

from monitor_site.celery import app


def task(name: str) -> Task:
    """The registered task called `name` (KeyError if no task module defines it)."""
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]


def send(name: str, args: tuple = (), **options):
    """`apply_async` of the task called `name`; None options are Celery's defaults."""
    return task(name).apply_async(args, **options)
