"""Benchmark: the Redis memory an event costs, measured, for the README's sizing figure.

    .venv/bin/python bench/redis_bytes.py [--phones 200] [--redis-url URL]

A call-heavy workload goes through one real worker into the GHL simulator: per
phone a ``contact.created``, four ``call.ended`` (one a missed inbound call, which
also makes a follow-up task), one ``sms.received``, and for every fifth phone a
``voicemail.created``. Measured with Redis's ``MEMORY USAGE`` on every key (and
``used_memory`` before and after, as a cross-check):

- a queued event's message, while it waits in the queue;
- after the queue drained, what stays, by lifetime: keys of each event id
  (expire after 30 days), keys of each Toky object (a year after its last use),
  and keys without expiry (fixed-size state, and the bounded stores named in the
  README);
- the steady state of a deployment taking ``--per-month`` such events a month:
  30 days of event-id keys plus a year of object keys.
Exit status 1 when a per-event key has no expiry (none should).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import redis  # noqa: E402

from bench.pipeline import env_for, fresh_sim, start_worker, stop  # noqa: E402
from contract.constants import EVENTS_QUEUE  # noqa: E402
from producers.queue import EventPublisher  # noqa: E402
from simulators.ghl.app import create_app  # noqa: E402
from simulators.serve import serve_in_thread  # noqa: E402
from toky_ghl.keys import queue_key  # noqa: E402
from worker.stats import Stats  # noqa: E402

PREFIX = "tokyghl"
MONTH_S = 31 * 24 * 3600
#: Keys kept per Toky object or per event id; each must expire.
PER_EVENT_KINDS = ("queued", "handled", "version", "idmap")


def workload(phones: int) -> list[dict]:
    """The call-heavy mix described above; every event a new id, occurred_at in order."""
    events: list[dict] = []
    at = "2026-11-02T{:02d}:{:02d}:00Z"
    for p in range(phones):
        phone = f"+1512557{p:04d}"
        events.append({"id": f"rb-c-{p}", "type": "contact.created", "occurred_at": at.format(8, 0),
                       "data": {"phone": phone, "contact_name": f"Caller {p}",
                                "email": f"caller{p}@example.com", "city": "Austin",
                                "country_code": "US", "tags": ["lead"]}})
        for c in range(4):
            missed = c == 3
            events.append({"id": f"rb-call-{p}-{c}", "type": "call.ended",
                           "occurred_at": at.format(9 + c, 0),
                           "data": {"callid": f"rbcall{p:05d}{c}", "direction": "inbound",
                                    "state": "missed" if missed else "completed",
                                    "from_number": phone, "to_number": "+15125559999",
                                    "duration": 0 if missed else 95,
                                    "agent": "ana.ruiz@demo.example",
                                    "date": at.format(9 + c, 0)}})
        events.append({"id": f"rb-sms-{p}", "type": "sms.received", "occurred_at": at.format(14, 0),
                       "data": {"id": f"rbsms{p:05d}", "from_number": phone,
                                "to_number": "+15125559999", "text": "Call me back please",
                                "date": at.format(14, 0)}})
        if p % 5 == 0:
            events.append({"id": f"rb-vm-{p}", "type": "voicemail.created",
                           "occurred_at": at.format(15, 0),
                           "data": {"id": f"rbvm{p:05d}", "from_number": phone,
                                    "to_number": "+15125559999", "duration": 20,
                                    "date": at.format(15, 0)}})
    return events


def kind_of(key: str) -> str:
    """``tokyghl:idmap:obj:call:…`` → ``idmap:obj``; ``tokyghl:version:…`` → ``version``."""
    parts = key.split(":")[1:]
    if parts and parts[0] == "idmap":
        return ":".join(parts[:2])
    return re.sub(r"\d+", "N", parts[0]) if parts else key


def key_sizes(client: redis.Redis) -> dict[str, tuple[int, int, int | None]]:
    """kind → (keys, bytes, the longest TTL in s, or None when one has no expiry)."""
    out: dict[str, list] = defaultdict(lambda: [0, 0, 0])
    for raw in client.scan_iter(match=f"{PREFIX}:*", count=1000):
        key = raw.decode()
        entry = out[kind_of(key)]
        entry[0] += 1
        entry[1] += client.memory_usage(raw, samples=0) or 0
        ttl = client.ttl(raw)
        entry[2] = None if ttl < 0 or entry[2] is None else max(entry[2], ttl)
    return {k: (n, b, t) for k, (n, b, t) in out.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=200, help="phones in the workload")
    parser.add_argument("--per-month", type=int, default=100_000,
                        help="events a month for the steady-state figure (default 100,000)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args(argv)
    events = workload(args.phones)
    client = redis.Redis.from_url(args.redis_url)
    client.flushdb()
    sim = fresh_sim(0)
    log = Path(tempfile.gettempdir()) / "bench-redis-bytes-worker.log"
    with serve_in_thread(create_app(sim), threads=32) as server:
        before = int(client.info("memory")["used_memory"])
        EventPublisher(client, key_prefix=PREFIX).publish(events)
        queue = queue_key(PREFIX)
        queued_bytes = client.memory_usage(queue, samples=0) / client.llen(queue)
        proc = start_worker([sys.executable, "-m", "celery", "-A", "worker", "worker", "-Q",
                             EVENTS_QUEUE, "-c", "8", "--without-gossip", "--without-mingle",
                             "-n", "bench-bytes@%h"],
                            env_for(args.redis_url, server.url), log)
        try:
            stats = Stats(client, PREFIX)
            deadline = time.monotonic() + 900
            while sum(stats.snapshot()[k] for k in ("applied", "skipped", "dead_lettered")) \
                    < len(events):
                if time.monotonic() > deadline:
                    raise SystemExit(f"timed out; see {log}")
                time.sleep(0.2)
            counts = stats.snapshot()
        finally:
            stop(proc)
    time.sleep(1)
    after = int(client.info("memory")["used_memory"])
    sizes = key_sizes(client)
    client.flushdb()

    n = len(events)
    by_class = {"30 days": 0, "a year": 0, "no expiry": 0}
    unbounded = []
    print(f"{n} events ({args.phones} phones: contact, 4 calls (1 missed), 1 SMS each, a "
          f"voicemail every 5th); applied {counts['applied']}, skipped {counts['skipped']}, "
          f"dead-lettered {counts['dead_lettered']}")
    print(f"queued: {queued_bytes:.0f} B per event while it waits in the queue")
    print(f"{'kind':<24}{'keys':>7}{'bytes':>10}{'B/event':>9}  lifetime")
    for kind, (keys, size, ttl) in sorted(sizes.items()):
        if ttl is None:
            life = "no expiry"
        elif ttl <= MONTH_S:
            life = "30 days"
        else:
            life = "a year"
        by_class[life] += size
        if life == "no expiry" and kind.split(":")[0] in PER_EVENT_KINDS:
            unbounded.append(kind)
        print(f"{kind:<24}{keys:>7}{size:>10}{size / n:>9.1f}  {life}")
    per_event_30d = by_class["30 days"] / n
    per_event_year = by_class["a year"] / n
    steady = per_event_30d * args.per_month + per_event_year * args.per_month * 12
    print(f"per event: {per_event_30d:.0f} B for 30 days (event ids) + {per_event_year:.0f} B "
          f"for a year (versions, id map); fixed: {by_class['no expiry']} B")
    print(f"used_memory grew {after - before} B ({(after - before) / n:.0f} B/event, "
          "allocator overhead included)")
    overhead = (after - before) / max(1, sum(by_class.values()))
    print(f"steady state at {args.per_month:,} events a month: {steady / 2**20:.0f} MiB of "
          f"keys; with Redis's own overhead as measured here (x{overhead:.2f}): "
          f"{overhead * steady / 2**20:.0f} MiB used_memory")
    if unbounded:
        print("per-event keys without expiry:", ", ".join(unbounded))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
