"""``toky-ghl worker [celery worker options]``: a Celery worker on the events queue."""

from __future__ import annotations

import argparse

from toky_ghl.constants import EVENTS_QUEUE


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "worker",
        help="run a Celery worker that applies events to GHL",
        description=(
            "Run a Celery worker that applies queued events to GHL. Any number of workers, "
            "on any hosts, share one Redis (REDIS_URL). Options after the command go to "
            "`celery worker` (e.g. --concurrency 16, --hostname w2@%%h, --loglevel INFO). "
            f"Defaults: threads pool, concurrency 8, queue {EVENTS_QUEUE}."
        ),
    )
    parser.set_defaults(func=run, accepts_extra=True)


def run(args: argparse.Namespace) -> int:
    from toky_ghl.settings import get_settings
    from worker.runtime import build_runtime

    # Validate everything first: a bad configuration stops here with its name.
    build_runtime(get_settings())
    from worker.celery import app

    argv = ["worker", "-Q", EVENTS_QUEUE, *args.extra]
    app.worker_main(argv=argv)
    return 0
