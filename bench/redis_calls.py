"""CPU of the worker's own Redis calls per event (issue 12): the begin and end scripts,
the id map's writes and the mirror's fingerprint, as a delivery of a ``contact.created``
then a ``call.ended`` makes them, against a real Redis (no GHL, no Celery).

    .venv/bin/python bench/redis_calls.py --redis-url redis://127.0.0.1:PORT/13

Prints CPU µs per event (``time.process_time``, user + system of this process) for each
round; the database's keys under the bench's prefix are deleted before and after. Run it
on two checkouts alternately (``PYTHONPATH=...``) to compare them.
"""

from __future__ import annotations

import argparse
import statistics
import time

import redis

from producers.mirror.memory import TO_GHL, SyncMemory
from worker.delivery import DeliveryScripts
from worker.idmap import Child, IdMap, prefetched
from worker.stats import Counted, Stats
from worker.versions import Version

PREFIX = "bench-redis-calls"


def contact_created(client: redis.Redis, n: int) -> None:
    """The Redis calls of one contact.created delivery that makes a contact."""
    phone, key = f"+1512555{n:04d}", f"contact:+1512555{n:04d}"
    scripts = DeliveryScripts(client, PREFIX, lock_ttl_s=30, lock_wait_s=0)
    stats, ids = Stats(client, PREFIX), IdMap(client, PREFIX)
    begun = scripts.begin(f"c-{n}", key, [key], None, ids.ahead(phone, None), lock_ttl_s=30)
    with prefetched(begun.idmap):
        ids.contact(phone)
        memory = SyncMemory(client, PREFIX)
        if hasattr(memory, "record_command"):  # the mirror's write in the id map's round trip
            ids.remember_contact(phone, f"C{n:07d}", tags=["toky"], payload_hash="d" * 16,
                                 also=(memory.record_command(phone, TO_GHL, "f" * 16),))
        else:  # (a checkout before it, to compare)
            ids.remember_contact(phone, f"C{n:07d}", tags=["toky"], payload_hash="d" * 16)
            memory.record(phone, TO_GHL, "f" * 16)
        parts = stats.finish_parts(Counted.APPLIED, "contact.created", f"c-{n}", "",
                                   occurred_at="2026-11-02T09:00:00Z")
        scripts.end(f"c-{n}", key, "applied", {key: Version(1_000 + n, False)}, parts)


def call_ended(client: redis.Redis, n: int) -> None:
    """The Redis calls of one call.ended delivery that creates its note."""
    phone, key, contact = f"+1512555{n:04d}", f"call:k{n}", f"contact:+1512555{n:04d}"
    scripts = DeliveryScripts(client, PREFIX, lock_ttl_s=30, lock_wait_s=0)
    stats, ids = Stats(client, PREFIX), IdMap(client, PREFIX)
    begun = scripts.begin(f"e-{n}", key, [key, contact], None, ids.ahead(phone, key),
                          lock_ttl_s=30)
    with prefetched(begun.idmap):
        contact_id = ids.contact(phone) or f"C{n:07d}"
        ids.intent(key, phone)
        ids.mark_intent(key, contact_id, phone)
        ids.put(key, Child(f"N{n:07d}", contact_id), phone, indexed=True)
        parts = stats.finish_parts(Counted.APPLIED, "call.ended", f"e-{n}", "",
                                   occurred_at="2026-11-02T09:00:00Z")
        scripts.end(f"e-{n}", key, "applied", {key: Version(2_000 + n, False)}, parts)


def clear(client: redis.Redis) -> None:
    for batch in client.scan_iter(f"{PREFIX}:*", count=1000):
        client.delete(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--events", type=int, default=2000, help="per round (half each type)")
    parser.add_argument("--rounds", type=int, default=5)
    opts = parser.parse_args()
    client = redis.Redis.from_url(opts.redis_url, health_check_interval=30, socket_keepalive=True)
    per_event = []
    for _ in range(opts.rounds):
        clear(client)
        contact_created(client, 9999)  # scripts loaded, connections made
        start = time.process_time()
        for n in range(opts.events // 2):
            contact_created(client, n)
            call_ended(client, n)
        per_event.append((time.process_time() - start) / opts.events * 1e6)
    clear(client)
    print(" ".join(f"{us:.1f}" for us in per_event),
          f"median {statistics.median(per_event):.1f} µs/event")


if __name__ == "__main__":
    main()
