"""Benchmark: a GHL outage. N events arrive while GHL is down for T seconds, then it is up.

    .venv/bin/python bench/outage.py [--events 300] [--down-s 60] [--budget 20]
        [--probe-interval-ms 2000] [--probe-max-ms 5000] [--workers 2] [--concurrency 4]
        [--redis-url URL]

Real worker processes on a real Redis, the GHL simulator over HTTP with its
``down`` switch (every request answered 503). Each event is one
``contact.created`` (one GHL request). The rate budget, ``--budget`` requests
per second, is GHL's (the simulator's) and ours.

Prints: the requests GHL received while down, the dead letters, the time from
recovery to the last event applied, and whether every event was applied once.
Goals: requests while down <= T / probe interval + worker threads; 0 dead
letters; drained within N / budget + 10 s of recovery. The baseline is the
behaviour before parking, as measured in issue 11: a 5-minute outage dead-
lettered all 80 events after 8 attempts each (640 requests), nothing applied
after recovery without `dlq replay`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import redis  # noqa: E402

from bench.pipeline import env_for, start_worker, stop  # noqa: E402
from contract.constants import EVENTS_QUEUE  # noqa: E402
from producers.queue import EventPublisher  # noqa: E402
from simulators.ghl.app import create_app  # noqa: E402
from simulators.ghl.config import SimConfig  # noqa: E402
from simulators.ghl.demo import DEMO_LOCATION, seed_demo  # noqa: E402
from simulators.ghl.sim import GhlSim  # noqa: E402
from simulators.serve import serve_in_thread  # noqa: E402


def workload(n: int) -> list[dict]:
    return [{"id": f"oc-{i}", "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
             "data": {"phone": f"+1512557{i:04d}", "contact_name": f"Outage Person {i}"}}
            for i in range(n)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--down-s", type=float, default=60.0)
    parser.add_argument("--budget", type=int, default=20, help="requests per second")
    parser.add_argument("--probe-interval-ms", type=int, default=2000)
    parser.add_argument("--probe-max-ms", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=4, help="threads per worker")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args(argv)

    client = redis.Redis.from_url(args.redis_url)
    client.flushdb()
    sim = GhlSim(SimConfig(max_requests=args.budget, interval_ms=1000, daily_max=10_000_000))
    seed_demo(sim)
    events = workload(args.events)
    logdir = Path(os.environ.get("TMPDIR", "/tmp"))
    procs = []
    with serve_in_thread(create_app(sim), threads=64) as server:
        env = env_for(args.redis_url, server.url,
                      CIRCUIT_PROBE_INTERVAL_MS=str(args.probe_interval_ms),
                      CIRCUIT_PROBE_MAX_MS=str(args.probe_max_ms))
        env.update(GHL_RATE_LIMIT_MAX=str(args.budget), GHL_RATE_LIMIT_INTERVAL_MS="1000")
        try:
            for i in range(args.workers):
                procs.append(start_worker(
                    [sys.executable, "-m", "celery", "-A", "worker", "worker", "-Q",
                     EVENTS_QUEUE, "-c", str(args.concurrency), "--without-gossip",
                     "--without-mingle", "-n", f"outage{i}@%h"],
                    env, logdir / f"outage-w{i}.log"))
            from worker.dlq import DeadLetterStore
            from worker.stats import Stats

            stats = Stats(client, "tokyghl")
            dlq = DeadLetterStore(client, "tokyghl")
            # GHL goes down, the events arrive, the outage lasts T seconds
            sim.update_config(down=True)
            down_at = time.monotonic()
            EventPublisher(client).publish(events)
            while time.monotonic() - down_at < args.down_s:
                time.sleep(0.1)
            requests_while_down = sim.stats_snapshot()["requests_total"]
            dead_while_down = dlq.count()
            # GHL is back
            sim.update_config(down=False)
            up_at = time.monotonic()
            deadline = up_at + 600
            while stats.snapshot()["applied"] + dlq.count() < len(events):
                if time.monotonic() > deadline:
                    print("timed out: not every event was applied within 600 s of recovery")
                    return 1
                time.sleep(0.05)
            drained_s = time.monotonic() - up_at
        finally:
            for proc in procs:
                stop(proc)
    counts = stats.snapshot()
    phones = Counter(c["phone"] for c in sim.state()["locations"][DEMO_LOCATION]["contacts"])
    once = len(phones) == len(events) and max(phones.values()) == 1
    threads = args.workers * args.concurrency
    max_requests = args.down_s / (args.probe_interval_ms / 1000) + threads
    max_drain_s = len(events) / args.budget + 10
    print(f"{len(events)} events, GHL down {args.down_s:.0f} s, budget {args.budget} req/s, "
          f"probe every {args.probe_interval_ms} ms doubling to {args.probe_max_ms} ms, "
          f"{args.workers} workers x {args.concurrency} threads")
    print(f"requests to GHL while down: {requests_while_down} (goal <= {max_requests:.0f})")
    print(f"dead letters: {dead_while_down} while down, {dlq.count()} at the end (goal 0)")
    print(f"recovery to drained: {drained_s:.1f} s (goal <= {max_drain_s:.1f} s)")
    print(f"applied {counts['applied']}, skipped {counts['skipped']}, each contact once: {once}")
    goals = (requests_while_down <= max_requests and dlq.count() == 0
             and drained_s <= max_drain_s and once)
    print("goals:", "met" if goals else "NOT met")
    client.flushdb()
    return 0 if goals else 1


if __name__ == "__main__":
    sys.exit(main())
