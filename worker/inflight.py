"""Which events a LIVE worker holds right now, for ``toky-ghl status``.

A worker killed with SIGKILL leaves the messages it held in its processing list
(worker/broker_processing.py) until the sweep gives them back; ``status`` must not
count those as in flight. The lists tell live from dead by their consumer's alive
key; the tasks running are also registered here. Each worker process keeps a heartbeat key
(``worker.keys.worker_key``, refreshed every ``HEARTBEAT_S`` by its scheduler
thread), and lists the tasks running at its last heartbeat
(``worker.keys.inflight_key``; a killed worker's entries stay until ``prune`` removes
them, and are not counted while its heartbeat is gone).

A task costs Redis nothing when it starts or ends: the process notes its running
tasks in memory (``REGISTRY``), and its scheduler thread writes the difference
each tick (one ``HSET`` of the tasks started, one ``HDEL`` of those ended, for
all of them). The hash is thus up to a tick (``DELAY_POLL_INTERVAL_MS``) behind,
and a task shorter than a tick may never appear in it: it is a gauge.
"""

from __future__ import annotations

import threading
import time

import redis

from toky_ghl.keys import broker_keyprefix
from toky_ghl.redis_conn import text
from worker.broker_processing import processing_counts
from worker.keys import inflight_key, worker_key

HEARTBEAT_S = 5
HEARTBEAT_TTL_S = 15






def beat(client: redis.Redis, prefix: str, hostname: str) -> None:
    client.set(worker_key(prefix, hostname), int(time.time()), ex=HEARTBEAT_TTL_S)


def started(client: redis.Redis, prefix: str, task_id: str, hostname: str) -> None:
    client.hset(inflight_key(prefix), task_id, f"{hostname}|{int(time.time() * 1000)}")


def ended(client: redis.Redis, prefix: str, task_id: str) -> None:
    client.hdel(inflight_key(prefix), task_id)


class Registry:
    """The tasks running in this process, written to ``P:inflight`` by ``sync``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}  # task id -> started (epoch ms)
        self._written: set[str] = set()  # the task ids the hash holds for this process

    def started(self, task_id: str) -> None:
        with self._lock:
            self._running[task_id] = int(time.time() * 1000)

    def ended(self, task_id: str) -> None:
        with self._lock:
            self._running.pop(task_id, None)

    def sync(self, client: redis.Redis, prefix: str, hostname: str) -> None:
        """Write the tasks started since the last sync and remove those ended (at most
        one HSET and one HDEL); on a Redis error the next sync tries again."""
        with self._lock:
            running = dict(self._running)
        add = {t: f"{hostname}|{at}" for t, at in running.items() if t not in self._written}
        gone = [t for t in self._written if t not in running]
        if not add and not gone:
            return
        pipe = client.pipeline(transaction=False)
        if add:
            pipe.hset(inflight_key(prefix), items=[x for pair in add.items() for x in pair])
        if gone:
            pipe.hdel(inflight_key(prefix), *gone)
        pipe.execute()
        self._written = (self._written | add.keys()) - set(gone)


#: This process's running tasks (``worker.lifecycle`` notes them; its heartbeat syncs).
REGISTRY = Registry()


def _entries(client: redis.Redis, prefix: str) -> list[tuple[str, str, int]]:
    out = []
    for task_id, value in client.hgetall(inflight_key(prefix)).items():
        host, _, at = text(value).partition("|")
        out.append((text(task_id), host, int(at or 0)))
    return out


def inflight_counts(client: redis.Redis, prefix: str) -> dict[str, int]:
    """``{"live": n, "dead_holders": m}``: tasks running on live workers, and entries
    left by workers whose heartbeat is gone (their messages come back by themselves)."""
    entries = _entries(client, prefix)
    hosts = sorted({host for _, host, _ in entries})
    alive = dict(zip(hosts, client.mget([worker_key(prefix, h) for h in hosts]) if hosts
                     else [], strict=True))
    live = sum(1 for _, host, _ in entries if alive.get(host) is not None)
    return {"live": live, "dead_holders": len(entries) - live}


def prune(client: redis.Redis, prefix: str, older_than_s: float) -> int:
    """Remove entries of dead workers started more than ``older_than_s`` ago; how many."""
    cutoff_ms = (time.time() - older_than_s) * 1000
    stale = [task_id for task_id, host, at in _entries(client, prefix)
             if at < cutoff_ms and client.get(worker_key(prefix, host)) is None]
    if stale:
        client.hdel(inflight_key(prefix), *stale)
    return len(stale)


def held_by_workers(client: redis.Redis, key_prefix: str, *, scan: bool = False
                    ) -> dict[str, int]:
    """``{"live": n, "dead": m}``: messages taken from the queue by live workers, and by
    workers that are gone (they come back by themselves). ``scan`` also finds processing
    lists no running version registered (``status``; the metrics do not).

    Two views of the same messages: the tasks running (this registry, by heartbeat, up
    to a tick behind) and the processing lists (worker/broker_processing.py, by alive
    key: every message a consumer took and has not acknowledged, running or prefetched;
    a dead consumer's list until the sweep gives it back, while the registry keeps a
    dead worker's tasks until ``prune``). Each counts some of the held messages and
    never more, so each figure is the larger of the two, not their sum."""
    tasks = inflight_counts(client, key_prefix)
    popped = processing_counts(client, broker_keyprefix(key_prefix), scan=scan)
    return {"live": max(tasks["live"], popped["live"]),
            "dead": max(tasks["dead_holders"], popped["dead"])}
