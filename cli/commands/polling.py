"""What the long-running pollers (`toky-ghl poll`, `toky-ghl mirror`) share on the
command line: their options and stopping on SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from cli.commands.argtypes import page_size, seconds


def say(line: str) -> None:
    """A progress or error line on stderr, flushed at once."""
    print(line, file=sys.stderr, flush=True)


def add_poll_options(parser: argparse.ArgumentParser, *, what: str, page_default: int,
                     page_help: str) -> None:
    """``--once``, ``--lock-wait S`` and ``--page-size N``; ``what`` names the poller."""
    parser.add_argument("--once", action="store_true", help="poll once and exit")
    parser.add_argument("--lock-wait", type=seconds, default=0.0, metavar="S",
                        help=f"with --once: seconds to wait while another {what} holds the "
                             "lock, then exit 0 without polling (default: 0, do not wait)")
    parser.add_argument("--page-size", type=page_size, default=page_default, metavar="N",
                        help=f"{page_help}, 1..500 (default: {page_default})")


@contextmanager
def stop_on_sigterm() -> Iterator[threading.Event]:
    """An event set by SIGTERM (process managers, docker stop) while inside the block;
    outside the main thread (tests) only the event, no handler."""
    stop = threading.Event()
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set()) if in_main else None
    try:
        yield stop
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)

