"""The Toky poller: reads contacts, calls, voicemails and SMS and queues events.

``Poller`` (one poll of every resource), ``PollerLock`` (one poller at a
time), ``run_poller`` (the loop). See docs/poller.md for the state rule, the
cursor and the lock.
"""

from producers.poller.cdr_mapping import call_state, cdr_event
from producers.poller.lock import LockLost, PollerLock
from producers.poller.poller import Poller, backfill_start
from producers.poller.report import PollReport
from producers.poller.runner import run_poller

__all__ = [
    "LockLost",
    "PollReport",
    "Poller",
    "PollerLock",
    "backfill_start",
    "call_state",
    "cdr_event",
    "run_poller",
]
