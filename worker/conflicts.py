"""Emails shared by the GHL contacts of several phones (guarantee 3: one phone, one contact).

GHL's upsert matches a contact by email before phone, so a Toky contact whose
email belongs to another phone's GHL contact would overwrite that contact (see
``worker.sync.contact_upsert``). toky-ghl keeps the two apart and records the
conflict here, one entry per email, so ``toky-ghl status`` counts them and
``toky-ghl conflicts`` lists which phones (and GHL contacts) share each email.

Keys: ``worker.keys.conflicts_email_key`` and ``conflicts_index_key``; kept until an
operator resolves a conflict in GHL or Toky and clears it with ``toky-ghl conflicts
clear``.
"""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import cast

import redis

from worker.keys import conflicts_email_key, conflicts_index_key


@dataclass
class EmailConflict:
    """One email and the phones whose GHL contacts it was meant for.

    ``contacts``: phone → GHL contact id; ``email_on``: the phones whose contact
    carries the email in GHL; ``first_s`` / ``last_s``: epoch seconds.
    """

    email: str
    contacts: dict[str, str] = field(default_factory=dict)
    email_on: list[str] = field(default_factory=list)
    resolution: str = ""
    first_s: float = 0.0
    last_s: float = 0.0

    @property
    def phones(self) -> list[str]:
        return sorted(self.contacts)


def email_key(email: str) -> str:
    """The form emails are compared in (GHL matches them ignoring case and spaces)."""
    return email.strip().lower()


class ConflictStore:
    """Email conflicts in Redis under ``prefix``."""

    def __init__(self, client: redis.Redis, prefix: str, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._redis = client
        self._items = conflicts_email_key(prefix)
        self._index = conflicts_index_key(prefix)
        self._clock = clock

    def record(self, email: str, *, contacts: dict[str, str], email_on: list[str],
               resolution: str) -> EmailConflict:
        """Add the phones ``contacts`` (phone → GHL contact id) to ``email``'s entry."""
        key = email_key(email)
        now_s = self._clock()
        entry = self.get(key) or EmailConflict(email=key, first_s=now_s)
        entry.contacts.update(contacts)
        entry.email_on = sorted({*entry.email_on, *email_on})
        entry.resolution = resolution
        entry.last_s = now_s
        with self._redis.pipeline() as pipe:
            pipe.hset(self._items, key, json.dumps(asdict(entry)))
            pipe.zadd(self._index, {key: now_s})
            pipe.execute()
        return entry

    def get(self, email: str) -> EmailConflict | None:
        raw = self._redis.hget(self._items, email_key(email))
        return EmailConflict(**json.loads(raw)) if raw else None

    def list(self) -> list[EmailConflict]:
        """Every conflict, the one seen longest ago first."""
        keys = self._redis.zrange(self._index, 0, -1)
        if not keys:
            return []
        return [EmailConflict(**json.loads(raw))
                for raw in self._redis.hmget(self._items, cast(list[bytes], keys)) if raw]

    def count(self) -> int:
        return int(self._redis.zcard(self._index))

    def clear(self, emails: builtins.list[str] | None = None) -> int:
        """Forget ``emails``' entries (all when None); returns how many were removed."""
        if emails is None:
            removed = self.count()
            self._redis.delete(self._items, self._index)
            return removed
        keys = [email_key(e) for e in emails]
        if not keys:
            return 0
        with self._redis.pipeline() as pipe:
            pipe.hdel(self._items, *keys)
            pipe.zrem(self._index, *keys)
            removed, _ = pipe.execute()
        return int(removed)
