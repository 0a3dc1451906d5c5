"""Which actions of an event are applied: one record per action, in Redis.

Keys: ``worker.keys.rule_done_key`` (the action's status) and ``rule_matched_key``
(set once a rule with several actions started, so a retry finishes it even if its
condition reads differently now, e.g. its first action added the tag it tests).
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from contract.constants import EVENT_ID_TTL_S
from worker.keys import rule_done_key, rule_matched_key


class Completions:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix

    def done_key(self, action_key: str) -> str:
        return rule_done_key(self._prefix, action_key)

    def matched_key(self, event_id: str, rid: str) -> str:
        return rule_matched_key(self._prefix, event_id, rid)

    def done(self, action_keys: Sequence[str]) -> set[str]:
        """The keys among ``action_keys`` whose action was applied (one round trip)."""
        if not action_keys:
            return set()
        values = self._redis.mget([self.done_key(k) for k in action_keys])
        return {k for k, v in zip(action_keys, values, strict=True) if v is not None}

    def mark_done(self, action_key: str, status: str) -> None:
        self._redis.set(self.done_key(action_key), status, ex=EVENT_ID_TTL_S)

    def started(self, event_id: str, rids: Sequence[str]) -> set[str]:
        if not rids:
            return set()
        values = self._redis.mget([self.matched_key(event_id, r) for r in rids])
        return {r for r, v in zip(rids, values, strict=True) if v is not None}

    def mark_started(self, event_id: str, rid: str) -> None:
        self._redis.set(self.matched_key(event_id, rid), 1, ex=EVENT_ID_TTL_S)
