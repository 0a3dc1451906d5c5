"""``toky-ghl enqueue [FILE|-]``: validate NDJSON events and queue the valid ones."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from cli.commands.argtypes import positive_int

DESCRIPTION = """\
Reads events, one JSON object a line (NDJSON), from FILE or standard input
('-', the default), streaming. Each line is validated against the event
contract; each invalid line is reported on stderr with its line number and the
reason, naming the field, and is never queued. Valid events are queued for the
workers in batches; an event whose id was already queued is counted as a
repeat and not queued again, so running the same file twice is safe.
"""

EPILOG = """\
output: invalid lines and a progress line every 10,000 lines on stderr; the
summary ("queued 11, repeats 0, invalid 1") on stdout.
exit status: 0 all lines valid; 1 some line was invalid (the valid ones are
queued); 2 usage error, unreadable FILE, or Redis unreachable (re-run: events
already queued count as repeats).
Redis: REDIS_URL (default redis://localhost:6379/0).
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "enqueue",
        help="validate NDJSON events and queue the valid ones",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", nargs="?", default="-", metavar="FILE|-",
                        help="NDJSON file of events; '-' or nothing reads standard input")
    parser.add_argument("--dry-run", action="store_true",
                        help="validate and report only; queue nothing (no Redis needed)")
    parser.add_argument("--batch-size", type=positive_int, default=500, metavar="N",
                        help="events queued per Redis round trip (default: 500)")
    parser.set_defaults(func=run)


def _report_invalid(line_number: int, reason: str) -> None:
    print(f"line {line_number}: {reason}", file=sys.stderr)


def _report_progress(summary: Any) -> None:
    print(f"enqueue: {summary.lines} lines read; {summary.text()}", file=sys.stderr, flush=True)


def _open(path: str) -> Any:
    """A context manager giving the binary stream of ``path``; ``-`` is stdin (left open)."""
    if path == "-":
        return contextlib.nullcontext(getattr(sys.stdin, "buffer", sys.stdin))
    return open(path, "rb")  # noqa: SIM115


def run(args: argparse.Namespace) -> int:
    import redis

    from producers.enqueue import Enqueuer
    from producers.queue import EventPublisher
    from toky_ghl.redis_conn import require_redis
    from toky_ghl.settings import get_settings

    try:
        source = _open(args.file)
    except OSError as exc:
        print(f"toky-ghl enqueue: cannot read {args.file!r}: {exc.strerror}", file=sys.stderr)
        return 2
    with source as stream:
        publisher = None
        if not args.dry_run:
            client = require_redis()  # unreachable: the CLI says so, exit 2
            publisher = EventPublisher(
                client, key_prefix=get_settings().key_prefix, batch_size=args.batch_size
            )
        enqueuer = Enqueuer(publisher, on_invalid=_report_invalid, on_progress=_report_progress)
        try:
            summary = enqueuer.run(stream)
        except redis.RedisError as exc:
            print(f"toky-ghl enqueue: Redis failed near line {enqueuer.summary.lines}: {exc}; "
                  f"so far {enqueuer.summary.text()}", file=sys.stderr)
            return 2
    print(summary.text(), flush=True)
    return 1 if summary.invalid else 0
