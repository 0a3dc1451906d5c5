"""Counters an operator reads with ``toky-ghl status`` and ``toky-ghl metrics``:
applied, skipped, dead-lettered and retried (by event type and reason), the
lag of applied events, and which events are waiting for a retry (and why).

Each decision is written in ONE command (a Lua script), with whatever the
event's GHL requests noted meanwhile (``toky_ghl.metrics.record``): the
metrics add no command and no round trip per event.
"""

from __future__ import annotations

import time
from typing import Any

import redis

from producers.schemas import EVENT_TYPES
from toky_ghl.metrics import record
from toky_ghl.redis_conn import text
from worker.keys import stats_counts_key, stats_retrying_key, stats_retrying_reason_key
from worker.versions import occurred_at_us

OUTCOMES = ("applied", "skipped", "dead_lettered", "retried")


def type_label(event_type: str) -> str:
    """An event type as a metric label: an unknown one (an invalid event's) is ``other``."""
    return event_type if event_type in EVENT_TYPES else "other"


def skip_reason(detail: str) -> str:
    """A skip's reason as a metric label (a few fixed values, never an id)."""
    if detail.startswith("duplicate"):
        return "duplicate"
    if detail.startswith("stale: the contact was deleted"):
        return "contact_deleted"
    if detail.startswith("stale"):
        return "stale"
    return "nothing_to_do"


# One decision in one command: forget (done) or note (retry) the event as waiting,
# then every increment. KEYS[kb+1]: the retrying sorted set; KEYS[kb+2]: the retry
# reasons hash; KEYS[kb+3..]: a hash per increment. ARGV[ab+1]: "done", "retry" or
# ""; ARGV[ab+2]: the event id; ARGV[ab+3]: due time (unix s); ARGV[ab+4]: the retry
# reason; ARGV[ab+5..]: field and amount of each increment, in the order of the keys.
# ``kb``/``ab`` (0 alone) let ``worker.delivery`` run it at the end of its own script.
# Every command counts (INFO commandstats counts a script's): an event never noted
# as waiting costs one ZREM, not ZREM and HDEL.
DECISION_BODY = """
local mode, id = ARGV[ab + 1], ARGV[ab + 2]
if mode == 'done' then
  if redis.call('ZREM', KEYS[kb + 1], id) == 1 then redis.call('HDEL', KEYS[kb + 2], id) end
elseif mode == 'retry' then
  redis.call('ZADD', KEYS[kb + 1], ARGV[ab + 3], id)
  redis.call('HSET', KEYS[kb + 2], id, ARGV[ab + 4])
end
for i = kb + 3, #KEYS do
  local j = ab + 2 * (i - kb) - 1
  redis.call('HINCRBY', KEYS[i], ARGV[j], ARGV[j + 1])
end
"""
_DECISION_LUA = "local kb, ab = 0, 0\n" + DECISION_BODY + "return 1\n"


class Stats:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix
        self._counts = stats_counts_key(prefix)
        self._retrying = stats_retrying_key(prefix)
        self._retrying_reason = stats_retrying_reason_key(prefix)
        self._decision = client.register_script(_DECISION_LUA)

    def _write(self, mode: str, event_id: str, outcome: str, event_type: str,
               own: record.Tally, *, due_s: float = 0.0, reason: str = "") -> None:
        """One EVALSHA: the waiting set, the status counters, ``own`` increments and
        those the current event noted meanwhile (its GHL requests)."""
        keys, args = self.decision_parts(mode, event_id, outcome, event_type, own,
                                         due_s=due_s, reason=reason)
        self._decision(keys=keys, args=args)

    def decision_parts(self, mode: str, event_id: str, outcome: str, event_type: str,
                       own: record.Tally, *, due_s: float = 0.0, reason: str = ""
                       ) -> tuple[list[str], list[Any]]:
        """The keys and arguments of ``DECISION_BODY`` for one decision. The total of an
        outcome is not written: ``snapshot`` adds up its per-type counts."""
        increments = [(self._counts, f"{outcome}:{event_type}", 1), *own.items(self._prefix)]
        noted = record.current()
        if noted:
            increments += noted.items(self._prefix)
        keys = [self._retrying, self._retrying_reason, *(k for k, _, _ in increments)]
        args: list[Any] = [mode, event_id, repr(due_s), reason]
        for _, field_name, amount in increments:
            args += [field_name, amount]
        return keys, args

    def count(self, outcome: str, event_type: str) -> None:
        """Count one ``outcome`` of ``event_type`` (status counters only)."""
        self._redis.hincrby(self._counts, f"{outcome}:{event_type}", 1)

    def retrying(self, event_id: str, event_type: str, due_in_ms: int,
                 reason: str = "internal") -> None:
        """Note that ``event_id`` is scheduled again in ``due_in_ms`` because of
        ``reason`` (and count a retry), in one command."""
        own = record.Tally()
        own.add(record.EVENTS, record.field(type_label(event_type), "retried", reason))
        self._write("retry", event_id, "retried", event_type, own,
                    due_s=time.time() + due_in_ms / 1000, reason=reason)

    def finish(self, outcome: str, event_type: str, event_id: str, reason: str, *,
               occurred_at: str | None = None) -> None:
        """Count the final ``outcome`` of an event, note it no longer waits, and
        (given ``occurred_at``, for an applied event) its lag: one command."""
        keys, args = self.finish_parts(outcome, event_type, event_id, reason,
                                       occurred_at=occurred_at)
        self._decision(keys=keys, args=args)

    def finish_parts(self, outcome: str, event_type: str, event_id: str, reason: str, *,
                     occurred_at: str | None = None) -> tuple[list[str], list[Any]]:
        """``finish``'s keys and arguments of ``DECISION_BODY``, for a caller that runs
        them in its own script (``worker.delivery``)."""
        own = record.Tally()
        own.add(record.EVENTS, record.field(type_label(event_type), outcome, reason))
        if occurred_at is not None:
            lag_s = time.time() - occurred_at_us(occurred_at) / 1_000_000
            own.observe(record.LAG, type_label(event_type), lag_s, record.LAG_BUCKETS_S)
        return self.decision_parts("done", event_id, outcome, event_type, own)

    def done(self, event_id: str) -> None:
        pipe = self._redis.pipeline(transaction=False)
        pipe.zrem(self._retrying, event_id)
        pipe.hdel(self._retrying_reason, event_id)
        pipe.execute()

    def retrying_by_reason(self) -> dict[str, int]:
        """How many events wait for a retry, by reason (those noted before reasons
        were kept count as ``unknown``)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.zcard(self._retrying)
        pipe.hvals(self._retrying_reason)
        total, reasons = pipe.execute()
        counts: dict[str, int] = {}
        for raw in reasons:
            reason = raw.decode() if isinstance(raw, bytes) else str(raw)
            counts[reason] = counts.get(reason, 0) + 1
        unknown = int(total) - sum(counts.values())
        if unknown > 0:
            counts["unknown"] = unknown
        return counts

    def oldest_retry_due(self) -> float | None:
        """The unix time the longest-waiting retry was due, or None."""
        first = self._redis.zrange(self._retrying, 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    def snapshot(self) -> dict[str, int]:
        raw = self._redis.hgetall(self._counts)
        counts = {text(k): int(v) for k, v in raw.items()}
        # an outcome's total is the sum of its per-type counts ("applied:call.ended");
        # a total stored by an older version (written with every per-type count) is
        # replaced by that sum
        totals: dict[str, int] = {}
        for name, value in counts.items():
            outcome, typed, _ = name.partition(":")
            if typed:
                totals[outcome] = totals.get(outcome, 0) + value
        counts.update(totals)
        for outcome in OUTCOMES:
            counts.setdefault(outcome, 0)
        counts["retrying"] = int(self._redis.zcard(self._retrying))
        return counts
