"""Where a history list (calls, voicemails, SMS) was read up to, kept in Redis.

Toky lists newest first and has no ``updated_since``: a poller must remember
what it has seen. Per resource (keys: ``producers.keys.cursor_keys``): the
high-water mark, the newest created time seen (Unix seconds, GMT), and the ids
seen (score: each row's created time, Unix seconds), kept for rows at or after
``mark - overlap_s``.

Each poll reads from ``floor = mark - overlap_s`` (the first from the backfill
start) and queues only rows whose id is not in the set. With ``overlap_s`` 0
this is exactly "the mark plus the ids seen AT the mark" (several rows in the
same second are neither missed nor repeated); a larger overlap also catches
rows that appear late with an older time (a call listed when it ends, dated
when it began). Ids are remembered page by page as they are queued; the mark
moves only at the end of a complete read (rows come newest first, so an early
mark would skip the older pages of an interrupted read).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta

import redis

from producers.keys import cursor_keys


class Cursor:
    """The cursor of one resource. ``overlap_s``: seconds re-read before the mark (≥ 0)."""

    def __init__(self, redis_client: redis.Redis, base_key: str, *, overlap_s: int = 0) -> None:
        if overlap_s < 0:
            raise ValueError(f"overlap_s must not be negative, got {overlap_s}")
        self.redis = redis_client
        self.mark_key, self.seen_key = cursor_keys(base_key)
        self.overlap_s = overlap_s

    def mark(self) -> datetime | None:
        """The high-water mark; None before the first complete read."""
        raw = self.redis.get(self.mark_key)
        return datetime.fromtimestamp(int(raw), UTC) if raw is not None else None

    def floor(self, backfill_since: datetime) -> datetime:
        """The oldest created time the next read must cover."""
        mark = self.mark()
        return backfill_since if mark is None else mark - timedelta(seconds=self.overlap_s)

    def unseen(self, ids: Iterable[str]) -> set[str]:
        """Those of ``ids`` not remembered as seen."""
        ids = list(ids)
        if not ids:
            return set()
        pipe = self.redis.pipeline(transaction=False)
        for item in ids:
            pipe.zscore(self.seen_key, item)
        return {item for item, score in zip(ids, pipe.execute(), strict=True) if score is None}

    def remember(self, seen: Mapping[str, datetime]) -> None:
        """Remember these ids (→ their created times) as seen."""
        if seen:
            self.redis.zadd(self.seen_key, {i: int(t.timestamp()) for i, t in seen.items()})

    def advance(self, newest: datetime | None, floor: datetime) -> datetime:
        """After a complete read: move the mark to the newest time read (never back; at
        least ``floor``) and forget ids older than ``mark - overlap_s``. Returns the mark.
        """
        old = self.mark()
        mark = max(t for t in (old, newest, floor) if t is not None)
        keep_from = int(mark.timestamp()) - self.overlap_s
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(self.mark_key, int(mark.timestamp()))
        pipe.zremrangebyscore(self.seen_key, "-inf", f"({keep_from}")
        pipe.execute()
        return mark
