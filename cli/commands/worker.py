"""``toky-ghl worker [--processes N] [celery worker options]``: Celery workers on the
events queue, N processes (``cli.worker_processes``) each with a threads pool."""

from __future__ import annotations

import argparse
import sys

from cli.commands.argtypes import positive_int
from contract.constants import EVENTS_QUEUE


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "worker",
        help="run Celery worker processes that apply events to GHL",
        description=(
            "Run Celery worker processes that apply queued events to GHL. Any number of "
            "workers, on any hosts, share one Redis (REDIS_URL). Options after the command "
            "go to `celery worker` (e.g. --concurrency 16, --hostname w2@%h, --loglevel "
            "INFO; `celery worker --help` lists them) and apply to each process. "
            f"Defaults: one process per CPU, each a threads pool of 8 slots, queue "
            f"{EVENTS_QUEUE} (its Redis list under TOKY_GHL_KEY_PREFIX). With more than "
            "one process, this command supervises them: each is a Celery node named "
            "NAME-i@HOST (from --hostname, default celery-i@%h; use %n in --pidfile and "
            "--logfile), SIGTERM/SIGINT/SIGQUIT are passed on to all and the command exits "
            "when they have, and a process that dies is started again. Exit status 2: a "
            "bad option, a bad setting or Redis unreachable."
        ),
    )
    parser.add_argument(
        "--processes", type=positive_int, default=None, metavar="N",
        help="worker processes (default: the CPUs this command may use); each runs "
             "--concurrency slots, so N x 8 events are in flight by default",
    )
    parser.set_defaults(func=run, accepts_extra=True)


def run(args: argparse.Namespace) -> int:
    from toky_ghl.redis_conn import require_redis
    from toky_ghl.settings import get_settings

    # Validate what is cheap first: a bad setting stops here with its name, an
    # unreachable Redis with its (masked) URL.
    settings = get_settings()
    require_redis(settings.redis_url)
    from cli.worker_processes import default_processes, run_worker_processes

    processes = args.processes or default_processes()
    if processes > 1:
        return run_worker_processes(processes, args.extra)
    return run_one(args.extra)


def run_one(extra: list[str]) -> int:
    """One Celery worker in this process (a child of the supervisor, or --processes 1)."""
    from celery import maybe_patch_concurrency

    # --pool gevent/eventlet: monkey-patch before the worker's modules are imported, as
    # `celery worker` does in celery/__main__.py (app.worker_main does not).
    maybe_patch_concurrency(["worker", *extra])
    import click

    from cli.worker_processes import signal_ready_when_celery_is
    from toky_ghl.errors import UsageError
    from toky_ghl.settings import get_settings
    from worker.runtime import build_runtime

    build_runtime(get_settings())  # a bad field map or rules file stops here, named
    from worker.celery import app

    signal_ready_when_celery_is()
    argv = ["worker", "-Q", EVENTS_QUEUE, *extra]
    try:
        app.worker_main(argv=argv)
    except click.exceptions.UsageError as exc:  # an unknown option, a bad value
        raise UsageError(f"{exc.format_message()} (celery worker --help lists the options)"
                         ) from None
    except click.exceptions.ClickException as exc:
        print(f"toky-ghl worker: {exc.format_message()}", file=sys.stderr)
        return exc.exit_code
    return 0
