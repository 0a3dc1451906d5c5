"""Real pieces for the guarantee tests: the GHL simulator over HTTP, real Celery
worker processes on the real Redis, and a publisher to queue events.

Nothing here fakes the path an event takes: the producer's messages go into
Redis, a separate `celery worker` process takes them, and its GHL client talks
HTTP to the simulator.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import redis

from contract.constants import EVENTS_QUEUE
from producers.queue import EventPublisher
from simulators.ghl.app import create_app
from simulators.ghl.config import SimConfig
from simulators.ghl.demo import DEMO_CALENDAR, DEMO_LOCATION, DEMO_TOKEN, seed_demo
from simulators.ghl.sim import GhlSim
from simulators.serve import RunningServer, serve_in_thread
from worker.stats import Stats

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "tests" / "unit" / "contract_samples.ndjson"
WRITE_SCOPES = "contacts.readonly contacts.write calendars/events.readonly calendars/events.write"
PREFIX = "tokyghl"


def wait_until(predicate: Callable[[], bool], timeout_s: float, what: str,
               interval_s: float = 0.1) -> None:
    """Poll ``predicate`` until true; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def load_samples() -> list[dict]:
    return [json.loads(line) for line in SAMPLES.read_text().splitlines() if line.strip()]


@dataclass
class GhlSimServer:
    """A seeded GHL simulator served on loopback (token, location, calendar of the demo)."""

    sim: GhlSim
    server: RunningServer
    token: str = DEMO_TOKEN
    location_id: str = DEMO_LOCATION
    calendar_id: str = DEMO_CALENDAR

    @classmethod
    def start(cls, **config: object) -> GhlSimServer:
        sim = GhlSim(SimConfig(**config))
        seed_demo(sim)
        return cls(sim, serve_in_thread(create_app(sim), threads=48))

    @property
    def url(self) -> str:
        return self.server.url

    def objects(self, kind: str) -> list[dict]:
        """Every object of ``kind`` (contacts, notes, tasks, appointments) in the location."""
        return self.sim.state()["locations"][self.location_id][kind]

    def contact_by_phone(self, phone: str) -> dict | None:
        found = [c for c in self.objects("contacts") if c.get("phone") == phone]
        assert len(found) <= 1, f"{len(found)} contacts in GHL for {phone}"
        return found[0] if found else None

    def children_of(self, kind: str, phone: str) -> list[dict]:
        contact = self.contact_by_phone(phone)
        if contact is None:
            return []
        return [o for o in self.objects(kind) if o.get("contactId") == contact["id"]]

    def writes(self) -> int:
        """How many write requests (POST/PUT/DELETE, searches excluded) reached the simulator."""
        by_route = self.sim.stats_snapshot()["by_route"]
        return sum(n for route, n in by_route.items()
                   if route.split()[0] in {"POST", "PUT", "DELETE"} and "search" not in route)

    def stop(self) -> None:
        self.server.stop()


def worker_env(redis_url: str, ghl: GhlSimServer, **overrides: str) -> dict[str, str]:
    """The environment of a worker pointed at ``redis_url`` and the simulator."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GHL_", "TOKY_", "CELERY_", "REDIS_URL"))}
    env.update({
        "REDIS_URL": redis_url,
        "GHL_API_BASE": ghl.url,
        "GHL_TOKEN": ghl.token,
        "GHL_LOCATION_ID": ghl.location_id,
        "GHL_CALENDAR_ID": ghl.calendar_id,
        "GHL_SCOPES": WRITE_SCOPES,
        "GHL_RATE_LIMIT_MAX": "1000",
        "GHL_RATE_LIMIT_INTERVAL_MS": "1000",
        "GHL_BACKOFF_BASE_MS": "100",
        "GHL_BACKOFF_CAP_MS": "1000",
        "CELERY_VISIBILITY_TIMEOUT_S": "10",
        # parked events are looked at often and an open circuit is probed soon
        "DELAY_POLL_INTERVAL_MS": "100",
        "CIRCUIT_PROBE_INTERVAL_MS": "500",
        "CIRCUIT_PROBE_MAX_MS": "2000",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(overrides)
    return env


def _log_lines(workers: Iterable[WorkerProcess], event_ids: list[str], last: int = 8) -> str:
    """The last ``last`` lines of each worker's log naming each of ``event_ids``."""
    out = []
    for worker in workers:
        lines = worker.log().splitlines()
        for event_id in event_ids:
            named = [line[:400] for line in lines if f'"{event_id}"' in line][-last:]
            out += [f"{worker.name} on {event_id}:", *named]
    return "\n".join(out)


def _texts(raw: dict) -> dict[str, str]:
    return {k.decode(): v.decode(errors="replace") for k, v in raw.items()}


@dataclass
class WorkerProcess:
    """One real `celery worker` process; its output goes to ``log_path``."""

    env: dict[str, str]
    log_path: Path
    name: str = "w1"
    concurrency: int = 4
    proc: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> WorkerProcess:
        cmd = [sys.executable, "-m", "celery", "-A", "worker", "worker", "-Q", EVENTS_QUEUE,
               "--pool", "threads", "-c", str(self.concurrency), "-n", f"{self.name}@%h",
               "--without-gossip", "--without-mingle", "-E"]
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=REPO, stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Pipeline:
    """What a test drives: queue events, read outcomes."""

    def __init__(self, redis_url: str) -> None:
        self.redis = redis.Redis.from_url(redis_url)
        self.publisher = EventPublisher(self.redis, key_prefix=PREFIX)
        self.stats = Stats(self.redis, PREFIX)

    def enqueue(self, events: Iterable[dict]):
        return self.publisher.publish(list(events))

    def handled(self) -> int:
        """Events that reached an end: applied, skipped or dead-lettered."""
        counts = self.stats.snapshot()
        return counts["applied"] + counts["skipped"] + counts["dead_lettered"]

    def wait_handled(self, n: int, timeout_s: float = 60) -> None:
        wait_until(lambda: self.handled() >= n, timeout_s,
                   f"{n} events handled (now {self.handled()}: {self.stats.snapshot()})")

    def unfinished(self, event_ids: Iterable[str]) -> list[str]:
        """The ids that are neither handled (applied/skipped) nor dead-lettered."""
        from worker.dlq import DeadLetterStore
        from worker.versions import VersionStore

        versions = VersionStore(self.redis, PREFIX)
        dlq = DeadLetterStore(self.redis, PREFIX)
        return [i for i in event_ids if versions.handled(i) is None and dlq.get(i) is None]

    def wait_finished(self, event_ids: Iterable[str], timeout_s: float = 90,
                      workers: Iterable[WorkerProcess] = ()) -> None:
        """Wait until every id is handled or dead-lettered; on time-out, say where the
        unfinished ones sit in Redis and what ``workers``' logs say of the first ones."""
        ids = list(event_ids)
        try:
            wait_until(lambda: not self.unfinished(ids), timeout_s,
                       f"all {len(ids)} events finished", interval_s=0.25)
        except AssertionError as exc:
            left = self.unfinished(ids)
            raise AssertionError(f"{exc}; {len(left)} left: {left[:10]}\n"
                                 f"{self.where_are(left[:10])}\n"
                                 f"{_log_lines(workers, left[:3])}") from None

    def where_are(self, event_ids: list[str]) -> str:
        """Where each of ``event_ids`` sits in Redis (queue, kombu's unacked, a worker's
        processing list, the delay store, a running task), with the object locks,
        circuits, worker heartbeats and the unacked-restore mutex: what a reader of a
        failed wait needs."""
        from toky_ghl.keys import broker_keyprefix, queue_key, unacked_key
        from worker.delay.report import parked_locations, server_now_ms
        from worker.keys import delay_due_key as due_key
        from worker.keys import delay_items_key as items_key
        from worker.keys import inflight_key

        r, wanted = self.redis, set(event_ids)
        now_ms = server_now_ms(r)

        def ids_in(raw: bytes) -> set[str]:
            """The wanted ids in a kombu message (queued, or ``[message, exchange, key]``
            when unacked); its body is base64 JSON."""
            text = raw.decode(errors="replace")
            try:
                message = json.loads(text)
                message = message[0] if isinstance(message, list) else message
                text += base64.b64decode(message.get("body", "")).decode(errors="replace")
            except (ValueError, AttributeError, TypeError):
                pass
            return {i for i in wanted if f'"{i}"' in text}

        lines = [f"redis now {now_ms} ms; queued {r.llen(queue_key(PREFIX))}"]
        for i, raw in enumerate(r.lrange(queue_key(PREFIX), 0, -1)):
            for found in ids_in(raw):
                lines.append(f"  {found}: in the queue at {i}")
        index = dict(r.zrange(broker_keyprefix(PREFIX) + "unacked_index", 0, -1,
                              withscores=True))
        lines.append(f"unacked {r.hlen(unacked_key(PREFIX))}, "
                     f"mutex ttl {r.pttl(broker_keyprefix(PREFIX) + 'unacked_mutex')} ms")
        for tag, raw in r.hgetall(unacked_key(PREFIX)).items():
            for found in ids_in(raw):
                lines.append(f"  {found}: unacked tag {tag.decode()} delivered at "
                             f"{index.get(tag)} (s)")
        from worker.broker_processing import alive_key, processing_lists

        for processing in processing_lists(r, broker_keyprefix(PREFIX), scan=True):
            alive = "alive" if r.exists(alive_key(processing)) else "NOT alive"
            for raw in r.lrange(processing, 0, -1):
                for found in ids_in(raw):
                    lines.append(f"  {found}: held in {processing} ({alive})")
        for location in parked_locations(r, PREFIX):
            due = dict(r.zrange(due_key(PREFIX, location), 0, -1, withscores=True))
            for event_id, raw in r.hgetall(items_key(PREFIX, location)).items():
                if event_id.decode() in wanted:
                    item = json.loads(raw)
                    lines.append(f"  {event_id.decode()}: parked at {location}, due "
                                 f"{due.get(event_id)} ms, reason {item.get('reason')!r}, "
                                 f"label {item.get('label')!r}, parked at "
                                 f"{item.get('parked_at_ms')} ms")
            lines.append(f"circuit {location}: {_texts(r.hgetall(f'{PREFIX}:circuit:{location}'))}")
        lines.append(f"in flight: {_texts(r.hgetall(inflight_key(PREFIX)))}")
        for pattern in (f"{PREFIX}:lock:*", f"{PREFIX}:workers:*", f"{PREFIX}:delay:*probe*",
                        f"{PREFIX}:delay:scheduler"):
            for key in r.scan_iter(pattern):
                lines.append(f"{key.decode()} = {r.get(key)!r} (ttl {r.pttl(key)} ms)")
        return "\n".join(lines)

    def dead_letters(self) -> list:
        from worker.dlq import DeadLetterStore

        return DeadLetterStore(self.redis, PREFIX).list()
