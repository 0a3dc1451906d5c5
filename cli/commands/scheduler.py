"""``toky-ghl scheduler [--once]``: re-publish due parked events, apart from the workers.

Every worker runs the same scheduler in a thread (unless
``DELAY_SCHEDULER_IN_WORKER=0``); this command is for deployments that want it
as its own process. Any number may run at once, on any hosts.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "scheduler",
        help="re-publish parked events when they are due (workers also do it)",
        description="Release parked events that are due onto the queue, oldest first, at the "
                    "rate budget's pace, holding a location's events while its circuit is "
                    "open, it is paused or its daily budget is spent. Stops on SIGTERM.",
    )
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from cli.commands.polling import say, stop_on_sigterm
    from toky_ghl import logs
    from toky_ghl.redis_conn import require_redis
    from toky_ghl.settings import get_settings
    from worker.auth.bootstrap import build_token_provider
    from worker.delay.scheduler import Scheduler
    from worker.ratelimit.shared import shared_limiter

    settings = get_settings()
    logs.register_settings_secrets(settings)
    logs.configure(settings.log_level)
    client = require_redis()  # unreachable: the CLI says so, exit 2
    auth = build_token_provider(settings, client) if settings.ghl_location_id else None
    scheduler = Scheduler(client, settings, limiter=shared_limiter(settings, client),
                          auth=auth)
    if args.once:
        say(f"released {scheduler.tick()} parked event(s)")
        return 0
    with stop_on_sigterm() as stop:
        while not stop.is_set():
            try:
                scheduler.tick()
            except Exception as exc:  # Redis blinked: the next tick retries
                say(f"toky-ghl scheduler: tick failed: {type(exc).__name__}: {exc}")
            stop.wait(settings.delay_poll_interval_ms / 1000)
    return 0
