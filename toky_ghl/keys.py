"""The Redis keys shared by both sides: Celery's (kombu's) and the metrics' hashes.

Built here and nowhere else; each function's docstring is the key's description.
The worker's own keys are in ``worker.keys``, the producers' in ``producers.keys``.

Celery's keys live under ``TOKY_GHL_KEY_PREFIX`` too. kombu's Redis transport
prepends its ``global_keyprefix`` transport option to every key and pub/sub channel
it uses (kombu/transport/redis.py, ``GlobalKeyPrefixMixin`` and
``PrefixedRedisPubSub``): the queue lists, the ``unacked`` hash and its
``unacked_index`` / ``unacked_mutex``, the ``_kombu.binding.*`` sets, the task-event
and remote-control channels. With it set to ``<prefix>:``, two deployments with
different prefixes share one Redis database without sharing a queue, a worker, a
Flower or an ``inspect``.

The Celery queue keeps its name (``toky-ghl.events``, what ``-Q`` takes); its
Redis list is ``<prefix>:toky-ghl.events``. Code that reads or writes those
keys directly (the batched publisher, ``toky-ghl status``) takes them from here.
Their lifetimes are kombu's: the queue and ``unacked`` are drained by the workers.
"""

from __future__ import annotations

import redis

from contract.constants import EVENTS_QUEUE

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


def metrics_key(prefix: str, name: str) -> str:
    """HASH ``<prefix>:metrics:<name>``: one metric's counters, a field per label set
    (``toky_ghl.metrics.record`` names the hashes and their fields). No expiry; one
    field per label set (event type, outcome, reason, route, ...)."""
    return f"{prefix}:metrics:{name}"


def priority_lists(queue_list: str) -> list[str]:
    """LISTs ``queue_list`` and kombu's priority sub-lists of it (``<list>\\x06\\x163``,
    6, 9), where a message published with a priority waits."""
    return [queue_list] + [f"{queue_list}{_PRIORITY_SEPARATOR}{p}" for p in (3, 6, 9)]


def queue_depth(client: redis.Redis, key_prefix: str) -> int:
    """Messages waiting in the events queue (every priority sub-list) of ``key_prefix``."""
    keys = priority_lists(queue_key(key_prefix))
    pipe = client.pipeline(transaction=False)
    for k in keys:
        pipe.llen(k)
    return sum(pipe.execute())
