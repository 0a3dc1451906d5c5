"""Benchmark: events through one worker into the GHL simulator, ours against a plain
Celery baseline (bench/baseline_app.py), in the same process tree.

    .venv/bin/python bench/pipeline.py [--contacts 300] [--latency-ms 20]
                                       [--concurrency 8] [--redis-url URL]

The workload: N ``contact.created`` events, then a ``call.ended`` for each
(2N events). GHL answers every request after ``--latency-ms`` and has no rate
limit. Prints, for each side: events per second (first enqueue to last event
applied), GHL calls per event, enqueue events per second; then the ratios.
Goals: at least 2x the baseline's events per second, at most 1.0 GHL call per
event, enqueue at least 10,000 events per second.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import redis  # noqa: E402
from celery import Celery  # noqa: E402

from producers.queue import EventPublisher  # noqa: E402
from toky_ghl.constants import EVENTS_QUEUE  # noqa: E402
from toky_ghl.sim.ghl.app import create_app  # noqa: E402
from toky_ghl.sim.ghl.config import SimConfig  # noqa: E402
from toky_ghl.sim.ghl.demo import DEMO_CALENDAR, DEMO_LOCATION, DEMO_TOKEN, seed_demo  # noqa: E402
from toky_ghl.sim.ghl.sim import GhlSim  # noqa: E402
from toky_ghl.sim.serve import serve_in_thread  # noqa: E402

WRITE_SCOPES = "contacts.readonly contacts.write calendars/events.readonly calendars/events.write"


def workload(n: int) -> list[dict]:
    events = [{"id": f"bc-{i}", "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
               "data": {"phone": f"+1512556{i:04d}", "contact_name": f"Bench Person {i}"}}
              for i in range(n)]
    events += [{"id": f"bcall-{i}", "type": "call.ended", "occurred_at": "2026-11-02T10:00:00Z",
                "data": {"callid": f"bench-{i:05d}", "direction": "inbound",
                         "state": "completed", "from_number": f"+1512556{i:04d}",
                         "to_number": "+15125559999", "duration": 30}}
               for i in range(n)]
    return events


@dataclass
class Side:
    name: str
    events: int
    seconds: float
    ghl_calls: int
    enqueue_per_s: float

    @property
    def per_s(self) -> float:
        return self.events / self.seconds

    @property
    def calls_per_event(self) -> float:
        return self.ghl_calls / self.events


def env_for(redis_url: str, ghl_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHL_", "TOKY_"))}
    env.update(REDIS_URL=redis_url, GHL_API_BASE=ghl_url, GHL_TOKEN=DEMO_TOKEN,
               GHL_LOCATION_ID=DEMO_LOCATION, GHL_CALENDAR_ID=DEMO_CALENDAR,
               GHL_SCOPES=WRITE_SCOPES, GHL_RATE_LIMIT_MAX="100000",
               GHL_RATE_LIMIT_INTERVAL_MS="1000", LOG_LEVEL="INFO", **extra)
    return env


def stop(proc: subprocess.Popen) -> None:
    """Stop a worker: a warm shutdown first, then SIGKILL after 20 s."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def start_worker(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while "ready" not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise SystemExit(f"worker did not start; see {log}")
        time.sleep(0.1)
    return proc


def wait_for(done, timeout_s: float) -> float:
    start = time.monotonic()
    while not done():
        if time.monotonic() - start > timeout_s:
            raise SystemExit("timed out waiting for the events to be applied")
        time.sleep(0.02)
    return time.monotonic()


def run_ours(events, sim, url, redis_url, concurrency, logdir) -> Side:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    proc = start_worker([sys.executable, "-m", "celery", "-A", "worker", "worker", "-Q",
                         EVENTS_QUEUE, "-c", str(concurrency), "--without-gossip",
                         "--without-mingle", "-n", "bench-ours@%h"],
                        env_for(redis_url, url), logdir / "ours.log")
    try:
        from worker.stats import Stats

        stats = Stats(client, "tokyghl")
        publisher = EventPublisher(client)
        start = time.monotonic()
        publisher.publish(events)
        enqueue_s = time.monotonic() - start
        end = wait_for(lambda: stats.snapshot()["applied"] >= len(events), 600)
        assert stats.snapshot()["dead_lettered"] == 0, "events were dead-lettered"
        return Side("ours", len(events), end - start, sim.stats_snapshot()["requests_total"],
                    len(events) / enqueue_s)
    finally:
        stop(proc)


def run_baseline(events, sim, url, redis_url, logdir) -> Side:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    env = env_for(redis_url, url, PYTHONPATH=str(REPO / "bench"))
    proc = start_worker([sys.executable, "-m", "celery", "-A", "baseline_app", "worker",
                         "--pool", "prefork", "-Q", "baseline", "-l", "INFO", "--without-gossip",
                         "--without-mingle", "-n", "bench-base@%h"], env, logdir / "base.log")
    try:
        app = Celery("baseline", broker=redis_url)
        n = len(events) // 2
        start = time.monotonic()
        for event in events:
            app.send_task("baseline.apply", args=[event], queue="baseline")
        enqueue_s = time.monotonic() - start

        def done() -> bool:
            state = sim.state()["locations"][DEMO_LOCATION]
            return len(state["notes"]) >= n and len(state["contacts"]) >= n

        end = wait_for(done, 900)
        return Side("baseline", len(events), end - start, sim.stats_snapshot()["requests_total"],
                    len(events) / enqueue_s)
    finally:
        stop(proc)


def fresh_sim(latency_ms: int) -> GhlSim:
    sim = GhlSim(SimConfig(max_requests=1_000_000, interval_ms=1000, daily_max=10_000_000,
                           latency_ms=latency_ms))
    seed_demo(sim)
    return sim


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=300, help="N: events are 2N")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8, help="our worker's threads")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args(argv)
    events = workload(args.contacts)
    logdir = Path(os.environ.get("TMPDIR", "/tmp"))
    results = []
    for side in ("ours", "baseline"):
        sim = fresh_sim(args.latency_ms)
        with serve_in_thread(create_app(sim), threads=64) as server:
            if side == "ours":
                results.append(run_ours(events, sim, server.url, args.redis_url,
                                        args.concurrency, logdir))
            else:
                results.append(run_baseline(events, sim, server.url, args.redis_url, logdir))
    print(f"{len(events)} events ({args.contacts} contacts, then a call each), "
          f"GHL latency {args.latency_ms} ms, no rate limit")
    for r in results:
        print(f"{r.name:>9}: {r.per_s:8.1f} events/s, {r.calls_per_event:.2f} GHL calls/event, "
              f"enqueue {r.enqueue_per_s:9.0f} events/s")
    ours, base = results
    print(f"ratio ours/baseline: events/s {ours.per_s / base.per_s:.2f}x, "
          f"enqueue {ours.enqueue_per_s / base.enqueue_per_s:.1f}x")
    goals = (ours.per_s >= 2 * base.per_s and ours.calls_per_event <= 1.0
             and ours.enqueue_per_s >= 10_000)
    print("goals (>= 2x events/s, <= 1.0 calls/event, enqueue >= 10,000/s):",
          "met" if goals else "NOT met")
    redis.Redis.from_url(args.redis_url).flushdb()
    return 0 if goals else 1


if __name__ == "__main__":
    sys.exit(main())
