"""What the workers, the webhook receiver and the pollers count, kept in Redis.

Every count is a field of a Redis hash (``toky_ghl.keys.metrics_key``) incremented
with ``HINCRBY``; a histogram is one field per bucket (its upper bound; not
cumulative, the count is their sum) and a ``sum_ms`` field, so any number of
processes on any hosts add
to the same numbers and ``toky-ghl metrics`` reads them at scrape time
(docs/monitoring.md says why). Nothing here makes a round trip of its own:
a ``Tally`` collects the increments of one event (or one request, one cycle)
and the caller adds them to the write it makes anyway (``worker.stats``: the
Lua call of the event's decision).

Field names join label values with ``|``; label values never contain it
(``label`` replaces it).
"""

from __future__ import annotations

from contextvars import ContextVar
from types import TracebackType
from typing import Any

import redis

from toky_ghl.keys import metrics_key

#: Lag from an event's occurred_at to its effect in GHL, in seconds (bucket upper bounds).
LAG_BUCKETS_S = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 21600, 86400)
#: Duration of one GHL request, in seconds (bucket upper bounds).
GHL_DURATION_BUCKETS_S = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

#: Who queues events (the ``source`` label of ENQUEUED).
SOURCES = ("webhook", "poll", "mirror", "enqueue", "replay")

# The hashes (each ``toky_ghl.keys.metrics_key(prefix, name)``).
EVENTS = "events"  # "type|outcome|reason" -> count
LAG = "lag"  # histogram "type|<le>" / "type|sum_ms"
ENQUEUED = "enqueued"  # "type|source" -> count (written by the publisher's Lua script)
#: GHL requests and their duration, one histogram per "location|method|route|status":
#: "...|<le>" / "...|sum_ms" (requests by status and durations by route are its sums)
GHL = "ghl"
GHL_RATE_LIMITED = "ghl_rate_limited"  # "location|limiter": our budget made an event wait
WEBHOOK = "webhook"  # "event|status" -> count
CYCLES = "cycles"  # "poller|outcome" -> count
CYCLE_ITEMS = "cycle_items"  # "poller|what" -> count
CYCLE_LAST = "cycle_last"  # "poller|ok" / "poller|any" -> unix time of the cycle's end

#: Words a GHL path may contain; any other segment is an id and becomes ``{id}``.
_ROUTE_WORDS = frozenset({
    "contacts", "search", "duplicate", "upsert", "business", "tags", "tasks", "completed",
    "notes", "appointments", "calendars", "events", "users", "oauth", "token", "locations",
    "customFields", "customValues", "conversations", "messages",
})


def label(value: Any) -> str:
    """A label value safe in a field name (no ``|``; None is empty)."""
    return str(value).replace("|", "/") if value is not None else ""


def field(*values: Any) -> str:
    return "|".join([label(v) for v in values])


def route_template(path: str) -> str:
    """``/contacts/abc123/notes/n9`` → ``/contacts/{id}/notes/{id}``: never an id."""
    path = path.split("?", 1)[0]
    parts = [p if (p in _ROUTE_WORDS or not p) else "{id}" for p in path.split("/")]
    return "/".join(parts) or "/"


def bucket_of(value: float, buckets: tuple[float, ...]) -> str:
    """The label of the smallest bucket holding ``value`` (``+Inf`` past the last)."""
    labels = _BOUND_LABELS.get(buckets)
    if labels is None:
        labels = _BOUND_LABELS[buckets] = tuple(format_bound(b) for b in buckets)
    for bound, bound_label in zip(buckets, labels, strict=True):
        if value <= bound:
            return bound_label
    return "+Inf"


def format_bound(bound: float) -> str:
    return repr(float(bound))


#: buckets -> their labels (``format_bound``), made once per bucket list, not per value
_BOUND_LABELS: dict[tuple[float, ...], tuple[str, ...]] = {}


class Tally:
    """Increments to make, collected in memory, added to one pipeline at the end."""

    def __init__(self) -> None:
        # a plain dict: two tallies are made per event, and Counter() costs more to make
        self.counts: dict[tuple[str, str], int] = {}

    def add(self, name: str, field_name: str, amount: int = 1) -> None:
        key = (name, field_name)
        self.counts[key] = self.counts.get(key, 0) + amount

    def observe(self, name: str, series: str, value_s: float,
                buckets: tuple[float, ...]) -> None:
        """One observation of a histogram: its bucket and its sum (ms)."""
        value_s = max(0.0, value_s)
        self.add(name, f"{series}|{bucket_of(value_s, buckets)}")
        self.add(name, f"{series}|sum_ms", int(round(value_s * 1000)))

    def items(self, prefix: str) -> list[tuple[str, str, int]]:
        """(Redis key, field, amount) of every increment; forgets them."""
        out = [(metrics_key(prefix, name), field_name, amount)
               for (name, field_name), amount in self.counts.items() if amount]
        self.counts.clear()
        return out

    def apply(self, pipe: Any, prefix: str) -> None:
        """Queue every increment on ``pipe`` (a redis-py pipeline) and forget them."""
        for (name, field_name), amount in self.counts.items():
            if amount:
                pipe.hincrby(metrics_key(prefix, name), field_name, amount)
        self.counts.clear()

    def __bool__(self) -> bool:
        return bool(self.counts)


_current: ContextVar[Tally | None] = ContextVar("toky_ghl_metrics_tally", default=None)


class collecting:  # (named as the function it replaced: ``with collecting() as tally``)
    """Collect what is recorded in this context (one event) into a new ``Tally``.

    A class, not ``@contextmanager``: entered once per event, and a generator-based
    context manager costs a few µs more to make, enter and leave (issue 12)."""

    __slots__ = ("_tally", "_token")

    def __enter__(self) -> Tally:
        self._tally = Tally()
        self._token = _current.set(self._tally)
        return self._tally

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        _current.reset(self._token)


def current() -> Tally | None:
    """The tally of the event being processed, or None outside one."""
    return _current.get()


def ghl_request(location: str, method: str, path: str, status: int | None,
                elapsed_s: float) -> None:
    """Note one GHL request of the current event (nothing outside an event)."""
    tally = current()
    if tally is None:
        return
    series = field(location, method, route_template(path), status if status else "error")
    tally.observe(GHL, series, elapsed_s, GHL_DURATION_BUCKETS_S)


def limiter_refused(location: str) -> None:
    """Note that the shared limiter made the current event wait (no request sent)."""
    tally = current()
    if tally is not None:
        tally.add(GHL_RATE_LIMITED, field(location, "limiter"))


def record_cycle(client: redis.Redis, prefix: str, poller: str, *, ok: bool,
                 records: int = 0, queued: int = 0, repeats: int = 0, invalid: int = 0,
                 now_s: float | None = None) -> None:
    """Note one cycle of a poller (``poll`` or ``mirror``): one pipeline per cycle."""
    import time

    now_s = time.time() if now_s is None else now_s
    tally = Tally()
    tally.add(CYCLES, field(poller, "ok" if ok else "failed"))
    for what, amount in (("records", records), ("queued", queued), ("repeats", repeats),
                         ("invalid", invalid)):
        tally.add(CYCLE_ITEMS, field(poller, what), amount)
    pipe = client.pipeline(transaction=False)
    tally.apply(pipe, prefix)
    pipe.hset(metrics_key(prefix, CYCLE_LAST), field(poller, "any"), repr(now_s))
    if ok:
        pipe.hset(metrics_key(prefix, CYCLE_LAST), field(poller, "ok"), repr(now_s))
    pipe.execute()
