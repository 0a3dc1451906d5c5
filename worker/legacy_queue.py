"""Events left in the Celery keys of a version before ``TOKY_GHL_KEY_PREFIX`` covered
them: moved into the deployment's own queue when a worker starts, so an upgrade loses
nothing (guarantee 1).

Before, the queue was the unprefixed list ``toky-ghl.events`` (and its priority
sub-lists), and messages delivered but not acknowledged sat in kombu's unprefixed
``unacked`` hash (``unacked_index``: their delivery times). Now every kombu key is
under ``<prefix>:`` (``toky_ghl.keys``). A worker starting moves:

- every message of the old lists (oldest first, one atomic ``RPOPLPUSH`` each), and of
  the priority sub-lists of the prefixed queue, which the durable pop of
  ``worker/broker.py`` does not read (``priority_steps`` ``[0]``);
- every old ``unacked`` message delivered longer than the visibility timeout ago
  (what kombu itself would restore: its worker is gone), one transaction each.

A message moved twice is no harm: events are de-duplicated by id. Two deployments
that shared one Redis before the upgrade shared these keys too: drain the queue
(``toky-ghl status`` shows 0 queued) before upgrading them.
"""

from __future__ import annotations

import json
import time
from typing import cast

import redis

from contract.constants import EVENTS_QUEUE
from toky_ghl.keys import priority_lists, queue_key

LEGACY_UNACKED, LEGACY_UNACKED_INDEX = "unacked", "unacked_index"

def legacy_queues(queue: str = EVENTS_QUEUE) -> list[str]:
    return priority_lists(queue)


def adopt_legacy_messages(client: redis.Redis, prefix: str, *, visibility_timeout_s: float,
                          now_s: float | None = None) -> int:
    """Move the old keys' messages into ``prefix``'s events queue; how many were moved."""
    target = queue_key(prefix)
    moved = 0
    # the priority sub-lists of this deployment's queue: the durable pop takes the queue
    # itself only (priority_steps [0], worker/broker.py)
    for legacy in legacy_queues() + legacy_queues(target)[1:]:
        while client.rpoplpush(legacy, target) is not None:
            moved += 1
    cutoff = (time.time() if now_s is None else now_s) - visibility_timeout_s
    for tag in cast(list[bytes], client.zrangebyscore(LEGACY_UNACKED_INDEX, "-inf", cutoff)):
        moved += _restore(client, tag, target)
    return moved


def _restore(client: redis.Redis, tag: bytes, target: str) -> int:
    """Put one old unacknowledged message back on ``target`` as kombu restores one (the
    payload, RPUSH: taken first), removing it from the old hash in the same transaction."""
    with client.pipeline(transaction=True) as pipe:
        try:
            pipe.watch(LEGACY_UNACKED)
            raw = pipe.hget(LEGACY_UNACKED, tag)
            pipe.multi()
            if raw is not None:
                pipe.rpush(target, json.dumps(json.loads(raw)[0]))
            pipe.hdel(LEGACY_UNACKED, tag)
            pipe.zrem(LEGACY_UNACKED_INDEX, tag)
            pipe.execute()
        except redis.WatchError:  # another worker moved it meanwhile
            return 0
    return int(raw is not None)

