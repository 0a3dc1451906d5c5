"""The Toky poller: reads contacts, calls, voicemails and SMS and queues events.

``Poller`` (one poll of every resource), ``backfill_start`` (where a first read
starts). The lock (one poller at a time), the loop (``run_poller``) and the
report are ``producers.polling``'s, shared with the GHL → Toky mirror; the
mapping of Toky records to events is ``producers.records``', shared with the
webhook receiver. See docs/poller.md for the state rule, the cursor and the lock.
"""

from producers.poller.poller import Poller, backfill_start

__all__ = ["Poller", "backfill_start"]
