"""``toky-ghl mirror [--once]``: the GHL → Toky contact mirror (GHL contacts → events)."""

from __future__ import annotations

import argparse
import threading
from functools import partial
from typing import Any

from cli.commands.polling import add_poll_options, say, stop_on_sigterm

DESCRIPTION = """\
Reads the GHL contacts added or changed since its saved cursor (POST
/contacts/search sorted by dateUpdated, through the shared rate budget of
GHL_LOCATION_ID) and queues one ghl.contact.created / ghl.contact.updated
event per contact version, every MIRROR_POLL_INTERVAL_S seconds (default 30)
or once with --once; the workers then create or update the Toky contact of
the phone. Contacts toky-ghl itself wrote to GHL from Toky are left out. A
first run backfills from MIRROR_BACKFILL_SINCE (default: 7 days back) and
prints its progress. Only one mirror poller runs at a time (a lock in Redis).
Opt-in: without MIRROR_GHL_TO_TOKY=1 it says so and idles (so a Procfile or
compose service may always list it).
"""

EPILOG = """\
exit status: 0 done (with --once: also when another mirror holds the lock and
--lock-wait passed, or when the mirror is off); 1 GHL could not be read (with
--once); 2 bad configuration or Redis unreachable.
see docs/mirror.md (the cursor, the loop guard, the events).
"""

OFF = ("toky-ghl mirror: the GHL → Toky mirror is off; set MIRROR_GHL_TO_TOKY=1 to mirror "
       "new and changed GHL contacts into Toky")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "mirror", help="mirror new and changed GHL contacts into Toky (MIRROR_GHL_TO_TOKY=1)",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_poll_options(parser, what="mirror", page_default=100,
                     page_help="contacts per GHL search request")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from toky_ghl import logs
    from toky_ghl.settings import get_settings

    settings = get_settings()
    logs.configure(settings.log_level)
    with stop_on_sigterm() as stop:
        if not settings.mirror_ghl_to_toky:
            say(OFF)
            if not args.once:
                stop.wait()  # idle until stopped: a process manager must not restart us
            return 0
        return _mirror(args, settings, stop)


def _mirror(args: argparse.Namespace, settings: Any, stop: threading.Event) -> int:
    from datetime import UTC, datetime

    import redis

    from producers.keys import mirror_lock_key
    from producers.mirror import MirrorPoller
    from producers.poller import backfill_start
    from producers.polling.lock import PollerLock
    from producers.polling.runner import run_poller
    from producers.queue import EventPublisher
    from toky_ghl.metrics.record import record_cycle
    from toky_ghl.redis_conn import require_redis

    since = backfill_start(settings.mirror_backfill_since, datetime.now(UTC),
                           variable="MIRROR_BACKFILL_SINCE")
    redis_client = require_redis()  # unreachable: the CLI says so, exit 2
    source = _ghl_source(settings, redis_client, args.page_size)
    if source is None:
        return 2
    prefix = settings.key_prefix
    poller = MirrorPoller(source, redis_client,
                          EventPublisher(redis_client, key_prefix=prefix, source="mirror"),
                          key_prefix=prefix, backfill_since=since,
                          overlap_s=settings.mirror_poll_overlap_s, progress=say,
                          wait=stop.wait)
    lock = PollerLock(redis_client, mirror_lock_key(prefix), ttl_s=settings.toky_poll_lock_ttl_s)
    try:
        return run_poller(poller, lock, once=args.once,
                          interval_s=settings.mirror_poll_interval_s,
                          lock_wait_s=args.lock_wait, stop=stop, say=say,
                          retry_lock_s=min(5.0, lock.ttl_s / 3), name="mirror",
                          cycles=partial(record_cycle, redis_client, prefix, "mirror"))
    except redis.RedisError as exc:
        say(f"toky-ghl mirror: Redis failed: {exc}")
        return 2


def _ghl_source(settings: Any, redis_client: Any, page_size: int) -> Any:
    """GHL's contact list through the workers' own client: the same token source and the
    same shared rate limiter (one budget per location); None after saying why not."""
    from producers.mirror.ghl_source import GhlContactChanges
    from worker.runtime import build_runtime

    try:
        runtime = build_runtime(settings, redis_client)
    except ValueError as exc:  # the GHL client refuses a missing token or location
        say(f"toky-ghl mirror: configuration error: {exc}")
        return None
    return GhlContactChanges(runtime.client, page_size=page_size)
