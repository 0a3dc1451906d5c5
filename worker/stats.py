"""Counters an operator reads with ``toky-ghl status`` and ``toky-ghl metrics``:
applied, skipped, dead-lettered and retried (by event type and reason), the
lag of applied events, and which events are waiting for a retry (and why).

Each decision is written in ONE command (a Lua script), with whatever the
event's GHL requests noted meanwhile (``toky_ghl.metrics.record``): the
metrics add no round trip per event. Inside the script they cost ONE command:
the decision's increments are appended to a log (``P:stats:log``, a list, one
entry per decision) instead of one ``HINCRBY`` each; ``fold`` adds the log's
entries to the counters' hashes (every worker's scheduler thread folds it each
tick, and every reader folds it before reading, so a reader sees every decision
written so far: ``snapshot``, ``toky-ghl metrics``, ``toky-ghl status``).
An entry is written with its decision, atomically: a worker killed at any moment
loses no count.
"""

from __future__ import annotations

import contextlib
import time
from enum import StrEnum
from typing import Any

import redis
from redis.commands.core import Script

from contract.event_types import EVENT_TYPES
from toky_ghl.metrics import record
from toky_ghl.redis_conn import text
from toky_ghl.redis_direct import direct
from toky_ghl.redis_scripts import script
from worker.keys import (
    stats_counts_key,
    stats_log_key,
    stats_retrying_key,
    stats_retrying_reason_key,
)
from worker.versions import occurred_at_us


class Counted(StrEnum):
    """What the counters count per event type: the final outcomes, and ``retried`` once
    per park of an event (whose pipeline decision is ``retry``)."""

    APPLIED = "applied"
    SKIPPED = "skipped"
    DEAD_LETTERED = "dead_lettered"
    RETRIED = "retried"


OUTCOMES: tuple[Counted, ...] = tuple(Counted)


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
# then its increments appended to the log. KEYS[kb+1]: the retrying sorted set;
# KEYS[kb+2]: the retry reasons hash; KEYS[kb+3]: the log. ARGV[ab+1]: "done",
# "retry" or ""; ARGV[ab+2]: the event id; ARGV[ab+3]: due time (unix s); ARGV[ab+4]:
# the retry reason; ARGV[ab+5]: the increments, encoded (``encode_increments``).
# ``kb``/``ab`` (0 alone) let ``worker.delivery`` run it at the end of its own script.
# Every command counts (INFO commandstats counts a script's): an event never noted
# as waiting costs one ZREM, not ZREM and HDEL; its increments one RPUSH.
DECISION_BODY = """
local mode, id = ARGV[ab + 1], ARGV[ab + 2]
if mode == 'done' then
  if redis.call('ZREM', KEYS[kb + 1], id) == 1 then redis.call('HDEL', KEYS[kb + 2], id) end
elseif mode == 'retry' then
  redis.call('ZADD', KEYS[kb + 1], ARGV[ab + 3], id)
  redis.call('HSET', KEYS[kb + 2], id, ARGV[ab + 4])
end
if ARGV[ab + 5] ~= '' then redis.call('RPUSH', KEYS[kb + 3], ARGV[ab + 5]) end
"""
_DECISION_LUA = "local kb, ab = 0, 0\n" + DECISION_BODY + "return 1\n"

#: Separators of an encoded entry of the log: between increments, and between the
#: hash (its key without the prefix), the field and the amount of one increment.
_ENTRY_SEP, _PART_SEP = "\x1e", "\x1f"
#: How many log entries one fold takes at most (the rest waits for the next fold).
FOLD_BATCH = 2000

# Fold the log into the hashes, atomically. KEYS[1]: the log; ARGV[1]: the key prefix;
# ARGV[2]: the most entries to take. The increments of all the entries taken are summed
# first, so each (hash, field) costs one HINCRBY per fold. Returns the entries folded.
_FOLD_LUA = """
local entries = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
if #entries == 0 then return 0 end
if #entries < tonumber(ARGV[2]) then redis.call('DEL', KEYS[1])
else redis.call('LTRIM', KEYS[1], #entries, -1) end
local sums, order = {}, {}
for _, entry in ipairs(entries) do
  for inc in string.gmatch(entry, '[^\\30]+') do
    local name, field, amount = string.match(inc, '^([^\\31]*)\\31([^\\31]*)\\31(-?%d+)$')
    if name then
      local k = name .. '\\31' .. field
      if sums[k] == nil then sums[k] = 0; order[#order + 1] = {name, field, k} end
      sums[k] = sums[k] + tonumber(amount)
    end
  end
end
for _, o in ipairs(order) do
  if sums[o[3]] ~= 0 then redis.call('HINCRBY', ARGV[1] .. ':' .. o[1], o[2],
                                      string.format('%.0f', sums[o[3]])) end
end
return #entries
"""


def encode_increments(prefix: str, increments: list[tuple[str, str, int]]) -> str:
    """One log entry: each (Redis key, field, amount) as "key-without-prefix, field,
    amount". Fields never hold the separators (labels are ours: types, reasons,
    routes, statuses, locations)."""
    cut = len(prefix) + 1
    return _ENTRY_SEP.join([  # (a list, not a generator: join makes one anyway)
        f"{key[cut:]}{_PART_SEP}{name.replace(_PART_SEP, ' ').replace(_ENTRY_SEP, ' ')}"
        f"{_PART_SEP}{int(amount)}" for key, name, amount in increments if amount])


def fold_before_reading(client: redis.Redis, prefix: str) -> None:
    """``fold`` for a reader: a Redis that refuses writes (full under ``noeviction``, a
    read-only replica) still answers the read, without the decisions not folded yet."""
    with contextlib.suppress(redis.exceptions.ResponseError):  # OOM, READONLY
        fold(client, prefix)


def fold(client: redis.Redis, prefix: str, folding: Script | None = None) -> int:
    """Add the decisions' logged increments to the counters' hashes (one script, one
    HINCRBY per distinct counter); how many entries were folded. Readers call it first.
    ``folding``: the fold script registered on ``client`` (default: the client's own,
    ``toky_ghl.redis_scripts``; no command sent: each batch is one EVALSHA, loaded once
    on NOSCRIPT)."""
    if folding is None:
        folding = script(client, _FOLD_LUA)
    total = 0
    while True:
        folded = int(folding(keys=[stats_log_key(prefix)], args=[prefix, FOLD_BATCH]))
        total += folded
        if folded < FOLD_BATCH:
            return total


class Stats:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix
        self._counts = stats_counts_key(prefix)
        self._retrying = stats_retrying_key(prefix)
        self._retrying_reason = stats_retrying_reason_key(prefix)
        self._log = stats_log_key(prefix)
        self._decision = script(client, _DECISION_LUA)
        self._direct = direct(client)

    def _write(self, mode: str, event_id: str, outcome: str, event_type: str,
               own: record.Tally, *, due_s: float = 0.0, reason: str = "") -> None:
        """One EVALSHA: the waiting set, the status counters, ``own`` increments and
        those the current event noted meanwhile (its GHL requests)."""
        keys, args = self.decision_parts(mode, event_id, outcome, event_type, own,
                                         due_s=due_s, reason=reason)
        self._direct.run(self._decision, keys, args)

    def decision_parts(self, mode: str, event_id: str, outcome: str, event_type: str,
                       own: record.Tally, *, due_s: float = 0.0, reason: str = ""
                       ) -> tuple[list[str], list[Any]]:
        """The keys and arguments of ``DECISION_BODY`` for one decision. The total of an
        outcome is not written: ``snapshot`` adds up its per-type counts."""
        increments = [(self._counts, f"{outcome}:{event_type}", 1), *own.items(self._prefix)]
        noted = record.current()
        if noted:
            increments += noted.items(self._prefix)
        keys = [self._retrying, self._retrying_reason, self._log]
        args: list[Any] = [mode, event_id, repr(due_s), reason,
                      encode_increments(self._prefix, increments)]
        return keys, args

    def count(self, outcome: str, event_type: str) -> None:
        """Count one ``outcome`` of ``event_type`` (status counters only)."""
        self._redis.hincrby(self._counts, f"{outcome}:{event_type}", 1)

    def retrying(self, event_id: str, event_type: str, due_in_ms: int,
                 reason: str = "internal") -> None:
        """Note that ``event_id`` is scheduled again in ``due_in_ms`` because of
        ``reason`` (and count a retry), in one command."""
        own = record.Tally()
        own.add(record.EVENTS, record.field(type_label(event_type), Counted.RETRIED, reason))
        self._write("retry", event_id, Counted.RETRIED, event_type, own,
                    due_s=time.time() + due_in_ms / 1000, reason=reason)

    def finish(self, outcome: Counted, event_type: str, event_id: str, reason: str, *,
               occurred_at: str | None = None) -> None:
        """Count the final ``outcome`` of an event, note it no longer waits, and
        (given ``occurred_at``, for an applied event) its lag: one command."""
        keys, args = self.finish_parts(outcome, event_type, event_id, reason,
                                       occurred_at=occurred_at)
        self._direct.run(self._decision, keys, args)

    def finish_parts(self, outcome: Counted, event_type: str, event_id: str, reason: str, *,
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

    def fold(self) -> int:
        """Add the logged decisions to the counters (``fold``)."""
        return fold(self._redis, self._prefix)

    def snapshot(self) -> dict[str, int]:
        fold_before_reading(self._redis, self._prefix)
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
