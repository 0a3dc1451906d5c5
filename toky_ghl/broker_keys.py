"""Where Celery's (kombu's) keys live in Redis: under ``TOKY_GHL_KEY_PREFIX`` too.

kombu's Redis transport prepends its ``global_keyprefix`` transport option to
every key and pub/sub channel it uses (kombu/transport/redis.py,
``GlobalKeyPrefixMixin`` and ``PrefixedRedisPubSub``): the queue lists, the
``unacked`` hash and its ``unacked_index`` / ``unacked_mutex``, the
``_kombu.binding.*`` sets, the task-event and remote-control channels. With it
set to ``<prefix>:``, two deployments with different prefixes share one Redis
database without sharing a queue, a worker, a Flower or an ``inspect``.

The Celery queue keeps its name (``toky-ghl.events``, what ``-Q`` takes); its
Redis list is ``<prefix>:toky-ghl.events``. Code that reads or writes those
keys directly (the batched publisher, ``toky-ghl status``) takes them from here.
"""

from __future__ import annotations

import redis

from toky_ghl.constants import EVENTS_QUEUE

#: kombu's priority sub-queues: "<queue>", "<queue>\x06\x163", ... (see kombu's _q_for_pri)
_PRIORITY_SEPARATOR = "\x06\x16"


def broker_keyprefix(key_prefix: str) -> str:
    """kombu's ``global_keyprefix`` for a deployment with ``key_prefix``."""
    return f"{key_prefix}:"


def queue_key(key_prefix: str, queue: str = EVENTS_QUEUE) -> str:
    """The Redis list of Celery queue ``queue`` (priority 0, the one producers push to)."""
    return broker_keyprefix(key_prefix) + queue


def unacked_key(key_prefix: str) -> str:
    """kombu's hash of delivered, not yet acknowledged messages (in flight)."""
    return broker_keyprefix(key_prefix) + "unacked"


def queue_depth(client: redis.Redis, key_prefix: str) -> int:
    """Messages waiting in the events queue (every priority sub-list) of ``key_prefix``."""
    queue = queue_key(key_prefix)
    keys = [queue] + [f"{queue}{_PRIORITY_SEPARATOR}{p}" for p in (3, 6, 9)]
    pipe = client.pipeline(transaction=False)
    for k in keys:
        pipe.llen(k)
    return sum(pipe.execute())
