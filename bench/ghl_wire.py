"""CPU per GHL call of the client's two HTTP paths: requests (a session per thread) and
``clients.ghl.wire`` (``clients.ghl.http11``, a connection per thread).

The simulator runs in its own process (``python -m simulators.ghl --demo``, 0 ms
latency), so ``time.process_time`` here counts the client's CPU only. Eight threads
each make ``--calls`` calls (an upsert, then a read of that contact); the paths are
alternated ``--rounds`` times and the median printed.

    .venv/bin/python bench/ghl_wire.py --calls 300 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time

from clients.ghl.client import GhlClient
from simulators.ghl.demo import DEMO_LOCATION, DEMO_TOKEN
from simulators.ghl.testing import ALL_SCOPES
from toky_ghl.logs import configure

THREADS = 8


def start_simulator() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "simulators.ghl", "--demo", "--threads", "16",
         "--max-requests", "1000000", "--daily-max", "100000000"],
        stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, line.strip().rsplit(" ", 1)[-1]


def cpu_ms_per_call(url: str, *, wire: bool, calls: int, tag: str) -> float:
    client = GhlClient(base_url=url, token=DEMO_TOKEN, location_id=DEMO_LOCATION,
                       scopes=frozenset(ALL_SCOPES), wire=wire)

    def work(n: int) -> None:
        for i in range(calls // 2):
            contact, _ = client.upsert_contact({"phone": f"+1555{n:02d}{i:05d}",
                                                "firstName": f"{tag}{i}"})
            client.get_contact(contact["id"])

    threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
    started = time.process_time()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return (time.process_time() - started) * 1000 / (THREADS * (calls // 2) * 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per thread per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    configure("INFO")  # as the worker: the per-request debug line is not written
    process, url = start_simulator()
    try:
        cpu_ms_per_call(url, wire=False, calls=20, tag="warm")  # imports, first connections
        cpu_ms_per_call(url, wire=True, calls=20, tag="warm")
        results: dict[str, list[float]] = {"requests": [], "wire": []}
        for r in range(args.rounds):
            for name in ("requests", "wire") if r % 2 == 0 else ("wire", "requests"):
                ms = cpu_ms_per_call(url, wire=name == "wire", calls=args.calls, tag=f"r{r}")
                results[name].append(ms)
                print(f"round {r} {name:8s} {ms:.3f} ms CPU/call", flush=True)
        old, new = statistics.median(results["requests"]), statistics.median(results["wire"])
        print(f"median: requests {old:.3f} ms, wire {new:.3f} ms CPU/call "
              f"({(1 - new / old) * 100:.0f}% less)")
    finally:
        process.terminate()
        process.wait(timeout=10)


if __name__ == "__main__":
    main()
