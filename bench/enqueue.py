"""Benchmark: queueing events with EventPublisher vs Celery's send_task one by one.

    python bench/enqueue.py [--events N] [--batch-size B]

Uses REDIS_URL when set, else redis://127.0.0.1:6379/2. Both publishers run
in this one process, against the same Redis, onto a bench-only queue (no
worker consumes it); every key the bench makes is deleted at the end.
Prints events/second for each, and the ratio. Goal: ours >= 10,000 events/s.
"""

from __future__ import annotations

import argparse
import time
import uuid

import redis
from celery import Celery

from contract.constants import APPLY_EVENT_TASK
from contract.events import event_label, validate_event
from producers.queue import EventPublisher
from toky_ghl.settings import get_settings

GOAL_EVENTS_PER_S = 10_000


def generate(count: int, run_id: str) -> list[dict]:
    """``count`` raw events of several types, with ids unique to this run."""
    kinds = [
        ("call.ended", lambda n: {"callid": f"{run_id}-{n}", "direction": "inbound",
                                  "state": "completed", "from_number": f"+1415555{n % 10000:04d}",
                                  "to_number": "+14155550100", "duration": n % 600,
                                  "date": "2026-11-02 10:00:00", "agent": "sam@company.test"}),
        ("contact.updated", lambda n: {"phone": f"(415) 555-{n % 10000:04d}", "country_code": "US",
                                       "contact_name": f"Person {n}", "email": f"p{n}@example.com",
                                       "tags": ["bench"]}),
        ("sms.received", lambda n: {"id": f"{run_id}-{n}", "from_number": "+14155550134",
                                    "to_number": "+14155550100", "text": "Running late"}),
        ("note.created", lambda n: {"note_id": f"{run_id}-{n}", "phone": "+14155550134",
                                    "body": "Decision maker is the CFO."}),
    ]
    events = []
    for n in range(count):
        event_type, make = kinds[n % len(kinds)]
        events.append({"id": f"bench-{run_id}-{n}", "type": event_type,
                       "occurred_at": "2026-11-02T10:00:00Z", "data": make(n)})
    return events


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="events per publisher")
    parser.add_argument("--batch-size", type=int, default=500, help="events per Lua call")
    args = parser.parse_args()
    settings = get_settings()
    url = settings.redis_url if settings.redis_url_set else "redis://127.0.0.1:6379/2"
    run_id = uuid.uuid4().hex[:8]
    queue = f"toky-ghl.bench.{run_id}"
    client = redis.Redis.from_url(url)
    raw = generate(2 * args.events + 2, run_id)

    started = time.perf_counter()
    accepted = [validate_event(obj) for obj in raw]
    validate_s = time.perf_counter() - started
    ours_events, celery_events = accepted[: args.events + 1], accepted[args.events + 1:]

    publisher = EventPublisher(client, key_prefix=f"tokyghl-bench-{run_id}", queue=queue,
                               batch_size=args.batch_size)
    app = Celery("bench", broker=url, set_as_current=False)
    try:
        publisher.publish(ours_events[:1])  # warm-up: script load, connection
        started = time.perf_counter()
        result = publisher.publish(ours_events[1:])
        ours_s = time.perf_counter() - started
        assert result.queued == args.events, result

        send = app.send_task
        send(APPLY_EVENT_TASK, args=[celery_events[0]], queue=queue)  # warm-up
        started = time.perf_counter()
        for event in celery_events[1:]:
            send(APPLY_EVENT_TASK, args=[event], kwargs={}, queue=queue,
                 argsrepr=event_label(event), kwargsrepr="{}")
        celery_s = time.perf_counter() - started
        # ours pushes onto the queue under its key prefix (toky_ghl.keys); this
        # bench's Celery app has none
        queued = client.llen(publisher.queue_key) + (
            client.llen(queue) if publisher.queue_key != queue else 0)
        assert queued == 2 * args.events + 2, queued
    finally:
        app.close()
        keys = [publisher.queued_key(event["id"]) for event in ours_events]
        keys += [queue, publisher.queue_key, f"tokyghl-bench-{run_id}:metrics:enqueued",
                 f"_kombu.binding.{queue}",
                 f"_kombu.binding_permanent.{queue}"]
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start:start + 1000])
        client.close()

    ours_rate, celery_rate = rate(args.events, ours_s), rate(args.events, celery_s)
    print(f"redis: {url}  events: {args.events}  batch size: {args.batch_size}")
    print(f"validate_event:              {rate(len(raw), validate_s):>10,.0f} events/s")
    print(f"EventPublisher.publish:      {ours_rate:>10,.0f} events/s  ({ours_s:.3f} s)")
    print(f"Celery send_task one by one: {celery_rate:>10,.0f} events/s  ({celery_s:.3f} s)")
    print(f"ratio (ours / send_task):    {ours_rate / celery_rate:>10.1f}x")
    met = "met" if ours_rate >= GOAL_EVENTS_PER_S else "NOT met"
    print(f"goal >= {GOAL_EVENTS_PER_S:,} events/s: {met}")
    return 0 if ours_rate >= GOAL_EVENTS_PER_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
