"""CPU per message of the worker's engine alone: a no-op task through the worker's broker
(real Redis, the threads pool, task events on), no pipeline work.

    .venv/bin/python bench/engine.py --redis-url redis://127.0.0.1:PORT/14 [--repo DIR]

Per round: N messages are written to a side list, a worker (``celery -A bench.engine_app
worker -P threads -c SLOTS``, the product's configuration) starts and settles, its CPU
(user + system, from ``/proc``) is read, the side list becomes the queue at once
(``RENAME``: a deep queue, as under load), and when the queue and every processing list
are empty the CPU is read again. ``--repo`` runs the worker from another checkout's code
(to compare an older version in the same run: rounds alternate between the checkouts).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.pipeline import stop  # noqa: E402
from contract.celery_message import default_origin, task_message  # noqa: E402
from contract.constants import EVENTS_QUEUE  # noqa: E402
from toky_ghl.keys import broker_keyprefix, queue_key  # noqa: E402

NOOP_TASK = "toky_ghl.bench_noop"  # (bench/engine_app.py; not imported: no Celery here)
PREFIX = "enginebench"


def cpu_s(pid: int, tid: int | None = None) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads), or of its thread
    ``tid`` (the main thread, ``tid == pid``, runs the event loop)."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def held(client: redis.Redis) -> int:
    """Messages waiting in the queue or held in any processing list."""
    lists = client.smembers(broker_keyprefix(PREFIX) + "processing")
    return int(client.llen(queue_key(PREFIX))) + sum(int(client.llen(k)) for k in lists)


def one_round(redis_url: str, repo: Path, messages: int, slots: int, log: Path,
              profile: Path | None = None) -> tuple[float, float]:
    """CPU ms per message of one worker started from ``repo``'s code: the process's, and
    its event loop thread's."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    staging = f"{PREFIX}:staging"
    batch = [task_message(NOOP_TASK, [], queue=EVENTS_QUEUE, argsrepr="()",
                          origin=default_origin()) for _ in range(messages)]
    for i in range(0, messages, 1000):
        client.lpush(staging, *batch[i:i + 1000])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GHL_", "TOKY_"))}
    env.update(REDIS_URL=redis_url, GHL_API_BASE="http://127.0.0.1:9", GHL_TOKEN="bench",
               GHL_LOCATION_ID="bench-location", TOKY_GHL_KEY_PREFIX=PREFIX,
               LOG_LEVEL="INFO", PYTHONPATH=str(repo))
    cmd = [sys.executable, "-m", "celery", "-A", "bench.engine_app", "worker", "-P", "threads",
           "-c", str(slots), "--without-gossip", "--without-mingle", "--without-heartbeat",
           "-n", f"engine-bench-{os.getpid()}@%h"]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=repo, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while " ready." not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker did not start; see {log}")
            time.sleep(0.1)
        time.sleep(1.5)
        spy = None
        if profile is not None:  # py-spy's collapsed stacks of the thread holding the GIL
            spy = subprocess.Popen([shutil.which("py-spy") or "py-spy", "record", "--pid",
                                    str(proc.pid), "--format", "raw", "--rate", "250", "--gil",
                                    "--output", str(profile)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
            time.sleep(1.0)
        before, loop_before = cpu_s(proc.pid), cpu_s(proc.pid, proc.pid)
        client.rename(staging, queue_key(PREFIX))
        while held(client):
            time.sleep(0.05)
        after, loop_after = cpu_s(proc.pid), cpu_s(proc.pid, proc.pid)
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=30)
    finally:
        stop(proc)
    return ((after - before) * 1000 / messages, (loop_after - loop_before) * 1000 / messages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--slots", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repo", type=Path, action="append",
                        help="a checkout to measure (repeat to compare; default: this one)")
    parser.add_argument("--profile", type=Path,
                        help="py-spy (on PATH) profile of the last round, collapsed stacks")
    args = parser.parse_args()
    repos = args.repo or [REPO]
    results: dict[Path, list[tuple[float, float]]] = {r: [] for r in repos}
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"engine-bench-{os.getpid()}.log"
    for n in range(args.rounds):
        for repo in repos:
            last = n == args.rounds - 1
            ms = one_round(args.redis_url, repo, args.messages, args.slots, log,
                           profile=args.profile if last and len(repos) == 1 else None)
            results[repo].append(ms)
            print(f"round {n + 1} {repo}: {ms[0]:.3f} ms CPU per message "
                  f"(event loop thread {ms[1]:.3f})", flush=True)
    for repo, values in results.items():
        total, loop = [v[0] for v in values], [v[1] for v in values]
        print(f"{repo}: median {statistics.median(total):.3f} ms CPU per message "
              f"({', '.join(f'{v:.3f}' for v in total)}); event loop thread "
              f"{statistics.median(loop):.3f} ({', '.join(f'{v:.3f}' for v in loop)})")


if __name__ == "__main__":
    main()
