"""``toky-ghl worker [celery worker options]``: a Celery worker on the events queue."""

from __future__ import annotations

import argparse
import sys

from contract.constants import EVENTS_QUEUE


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "worker",
        help="run a Celery worker that applies events to GHL",
        description=(
            "Run a Celery worker that applies queued events to GHL. Any number of workers, "
            "on any hosts, share one Redis (REDIS_URL). Options after the command go to "
            "`celery worker` (e.g. --concurrency 16, --hostname w2@%h, --loglevel INFO; "
            "`celery worker --help` lists them). "
            f"Defaults: threads pool, concurrency 8, queue {EVENTS_QUEUE} (its Redis list "
            "under TOKY_GHL_KEY_PREFIX). Exit status 2: a bad option, a bad setting or "
            "Redis unreachable."
        ),
    )
    parser.set_defaults(func=run, accepts_extra=True)


def run(args: argparse.Namespace) -> int:
    import click

    from toky_ghl.errors import UsageError
    from toky_ghl.redis_conn import require_redis
    from toky_ghl.settings import get_settings
    from worker.runtime import build_runtime

    # Validate everything first: a bad configuration stops here with its name,
    # an unreachable Redis with its (masked) URL.
    settings = get_settings()
    require_redis(settings.redis_url)
    build_runtime(settings)
    from worker.celery import app

    argv = ["worker", "-Q", EVENTS_QUEUE, *args.extra]
    try:
        app.worker_main(argv=argv)
    except click.exceptions.UsageError as exc:  # an unknown option, a bad value
        raise UsageError(f"{exc.format_message()} (celery worker --help lists the options)"
                         ) from None
    except click.exceptions.ClickException as exc:
        print(f"toky-ghl worker: {exc.format_message()}", file=sys.stderr)
        return exc.exit_code
    return 0
