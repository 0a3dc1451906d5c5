"""Benchmark: N processes share one GHL budget. Ours (one limiter in Redis, slots
leased in batches per process: ``worker.ratelimit.pool``, what workers use) against
the baseline of per-process limits (each process given the whole budget, as
Celery's ``rate_limit`` task option would be), against the GHL simulator.

    .venv/bin/python bench/ratelimit.py [--processes 4] [--budget 20] [--interval-ms 1000]
                                        [--seconds 30] [--redis-url URL]

Prints, for each mode, the share of the budget used (successful requests over
budget × seconds) and the number of 429s, and for ours the Redis commands per
request (``INFO commandstats`` before and after: use a Redis no one else is using);
then the ratio. Goal for ours: at least 0.95 of the budget with zero 429s.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402

from simulators.ghl.app import create_app  # noqa: E402
from simulators.ghl.config import SimConfig  # noqa: E402
from simulators.ghl.demo import DEMO_LOCATION, DEMO_TOKEN, seed_demo  # noqa: E402
from simulators.ghl.sim import GhlSim  # noqa: E402
from simulators.serve import serve_in_thread  # noqa: E402

MODES = ("shared", "per-process")


@dataclass(frozen=True)
class Load:
    sim_url: str
    redis_url: str
    prefix: str
    budget: int
    interval_ms: int
    seconds: float


def drive(mode: str, load: Load, contact_id: str, results: mp.Queue) -> None:
    """One process: send GET /contacts/{id} as fast as its limiter allows, for ``seconds``."""
    from clients.ghl.client import GhlClient
    from clients.ghl.errors import GhlRateLimitedError
    from toky_ghl import logs
    from worker.ratelimit import Limits, MemoryBackend, PooledLimiter, RateLimiter, RedisBackend

    logs.configure("WARNING")

    limits = Limits(load.budget, load.interval_ms, 200_000)
    limiter: RateLimiter
    if mode == "shared":
        backend = RedisBackend(redis.Redis.from_url(load.redis_url), prefix=load.prefix)
        limiter = PooledLimiter(backend, limits)
    else:
        limiter = RateLimiter(MemoryBackend(), limits)
    client = GhlClient(base_url=load.sim_url, token=DEMO_TOKEN, location_id=DEMO_LOCATION,
                       scopes={"contacts.readonly"}, limiter=limiter,
                       max_inline_wait_ms=10 * load.interval_ms)
    ok = too_many = 0
    deadline = time.monotonic() + load.seconds
    while time.monotonic() < deadline:
        try:
            client.get_contact(contact_id)
            ok += 1
        except GhlRateLimitedError as exc:
            if exc.from_server:
                too_many += 1
            time.sleep(min(exc.retry_after_ms or load.interval_ms, load.interval_ms) / 1000)
    if isinstance(limiter, PooledLimiter):
        limiter.close()  # held slots go back (counted in the Redis commands)
    results.put((ok, too_many))


@dataclass(frozen=True)
class Result:
    mode: str
    ok: int
    too_many: int
    budget_requests: float
    redis_commands: int = 0  # every client's, INFO commandstats (shared mode)

    @property
    def share(self) -> float:
        return self.ok / self.budget_requests

    @property
    def commands_per_request(self) -> float:
        return self.redis_commands / max(1, self.ok + self.too_many)


def command_total(client: redis.Redis) -> int:
    """Every command the server ran (INFO commandstats; those of scripts count one each)."""
    return sum(int(v["calls"]) for v in client.info("commandstats").values())


def run_mode(mode: str, *, processes: int, budget: int, interval_ms: int, seconds: float,
             redis_url: str) -> Result:
    """Serve a fresh simulator with the budget, run ``processes`` drivers, count."""
    sim = GhlSim(SimConfig(max_requests=budget, interval_ms=interval_ms))
    seed_demo(sim)
    contact = sim.add_contact(DEMO_LOCATION, {"phone": "+15125550101", "name": "Bench"})
    prefix = f"bench-ratelimit-{time.time_ns()}"
    client = redis.Redis.from_url(redis_url)
    commands_before = command_total(client)
    with serve_in_thread(create_app(sim), threads=64) as server:
        load = Load(server.url, redis_url, prefix, budget, interval_ms, seconds)
        ctx = mp.get_context("spawn")
        results = ctx.Queue()
        procs = [ctx.Process(target=drive, args=(mode, load, contact["id"], results))
                 for _ in range(processes)]
        for p in procs:
            p.start()
        counts = [results.get(timeout=seconds + 60) for _ in procs]
        for p in procs:
            p.join(timeout=30)
    commands = command_total(client) - commands_before - 1  # (the INFO itself)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    budget_requests = budget * (seconds * 1000 / interval_ms)
    return Result(mode, sum(c[0] for c in counts), sum(c[1] for c in counts), budget_requests,
                  commands if mode == "shared" else 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--budget", type=int, default=20, help="requests per window")
    parser.add_argument("--interval-ms", type=int, default=1000, help="the window")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of each mode")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args(argv)
    print(f"{args.processes} processes, budget {args.budget} per {args.interval_ms} ms, "
          f"{args.seconds:.0f} s per mode", flush=True)
    results = {}
    for mode in MODES:
        r = run_mode(mode, processes=args.processes, budget=args.budget,
                     interval_ms=args.interval_ms, seconds=args.seconds,
                     redis_url=args.redis_url)
        results[mode] = r
        print(f"{mode:>12}: {r.ok} requests served of a budget of {r.budget_requests:.0f} "
              f"(share {r.share:.3f}), 429s {r.too_many}"
              + (f", Redis commands per request {r.commands_per_request:.2f}"
                 if mode == "shared" else ""), flush=True)
    ours, base = results["shared"], results["per-process"]
    print(f"ratio: 429s ours/baseline = {ours.too_many}/{base.too_many}; "
          f"budget share ours/baseline = {ours.share / max(base.share, 1e-9):.2f}")
    goal = ours.share >= 0.95 and ours.too_many == 0
    print("goal (share >= 0.95, zero 429s):", "met" if goal else "NOT met")
    return 0 if goal else 1


if __name__ == "__main__":
    sys.exit(main())
