"""``toky-ghl poll [--once]``: the Toky poller (contacts, calls, voicemails, SMS → events)."""

from __future__ import annotations

import argparse
from functools import partial
from typing import Any

from cli.commands.polling import add_poll_options, say, stop_on_sigterm

DESCRIPTION = """\
Reads what is new in Toky since the saved cursors (contacts, call records,
voicemails, SMS) and queues one event per new or changed object, every
TOKY_POLL_INTERVAL_S seconds (default 30) or once with --once. A first run
backfills from TOKY_BACKFILL_SINCE (default: 7 days back) and prints its
progress. Only one poller runs at a time (a lock in Redis): a second one says
who holds the lock and waits for it.
"""

EPILOG = """\
exit status: 0 done (with --once: also when another poller holds the lock and
--lock-wait passed); 1 a resource could not be read (with --once; the others
were); 2 bad configuration, Toky refused the key, or Redis unreachable.
see docs/poller.md (the call state rule, the cursor, the lock).
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "poll", help="poll Toky and queue events (every TOKY_POLL_INTERVAL_S, or --once)",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_poll_options(parser, what="poller", page_default=500, page_help="rows per Toky request")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    import redis

    from clients.toky import TokyAuthError, TokyClient
    from producers.keys import poller_lock_key
    from producers.poller import Poller, backfill_start
    from producers.polling.lock import PollerLock
    from producers.polling.runner import run_poller
    from producers.queue import EventPublisher
    from toky_ghl import logs
    from toky_ghl.metrics.record import record_cycle
    from toky_ghl.redis_conn import require_redis
    from toky_ghl.settings import get_settings

    settings = get_settings()
    logs.configure(settings.log_level)
    client = TokyClient.from_settings(settings)
    since = backfill_start(settings.toky_backfill_since, datetime.now(UTC))
    redis_client = require_redis()  # unreachable: the CLI says so, exit 2
    prefix = settings.key_prefix
    poller = Poller(client, redis_client,
                    EventPublisher(redis_client, key_prefix=prefix, source="poll"),
                    key_prefix=prefix, backfill_since=since,
                    overlap_s=settings.toky_poll_overlap_s, page_size=args.page_size,
                    progress=say)
    lock = PollerLock(redis_client, poller_lock_key(prefix), ttl_s=settings.toky_poll_lock_ttl_s)
    try:
        with stop_on_sigterm() as stop:
            return run_poller(poller, lock, once=args.once,
                              interval_s=settings.toky_poll_interval_s,
                              lock_wait_s=args.lock_wait, stop=stop, say=say,
                              retry_lock_s=min(5.0, lock.ttl_s / 3),
                              cycles=partial(record_cycle, redis_client, prefix, "poll"))
    except TokyAuthError as exc:
        say(f"toky-ghl poll: {exc}")
        return 2
    except redis.RedisError as exc:
        say(f"toky-ghl poll: Redis failed: {exc}")
        return 2
    finally:
        client.close()
