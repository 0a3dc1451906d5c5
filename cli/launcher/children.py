"""The child processes of ``toky-ghl run``, one start function each.

Each function starts its child under the ``Supervisor``, waits until it is
ready (a line it prints), and returns what the summary needs. ``env`` is the
environment every later child gets (secrets included); it is filled in as
pieces start (``REDIS_URL`` of the embedded Redis, the simulators' URLs).
"""

from __future__ import annotations

import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from cli.commands import COMMAND_MODULES
from cli.launcher.embedded_redis import embedded_redis_command, free_port
from cli.launcher.supervisor import Supervisor

PY = sys.executable
DEMO_EVENTS = Path(__file__).with_name("demo_events.ndjson")
#: How long a child may take to say it is ready, in seconds.
READY_TIMEOUT_S = 60
FLOWER_USER = "admin"


def cli(*args: str) -> list[str]:
    """The command line of ``toky-ghl ARGS`` with this interpreter."""
    return [PY, "-m", "cli.main", *args]


def has_command(name: str) -> bool:
    """Whether ``toky-ghl NAME`` exists in this installation."""
    return f"cli.commands.{name}" in COMMAND_MODULES


def _url_after(line: str, marker: str) -> str:
    return line.split(marker, 1)[1].split()[0].strip().rstrip("/")


def start_redis(sup: Supervisor, env: dict[str, str]) -> None:
    """An embedded Redis on a free loopback port; sets ``env["REDIS_URL"]``."""
    cmd, url = embedded_redis_command(free_port())
    sup.wait_for_line(sup.start("redis", cmd, env), "Ready to accept connections", 20)
    env["REDIS_URL"] = url


def start_ghl_sim(sup: Supervisor, env: dict[str, str]) -> str:
    """The GHL simulator with the demo location; points the ``GHL_*`` variables at it."""
    from simulators.ghl.demo import DEMO_CALENDAR, DEMO_LOCATION, DEMO_SCOPES, DEMO_TOKEN

    child = sup.start("ghl-sim", [PY, "-m", "simulators.ghl", "--demo",
                                  "--port", str(free_port())], env)
    url = _url_after(sup.wait_for_line(child, "listening on", 20), "listening on")
    env.update(GHL_API_BASE=url, GHL_TOKEN=DEMO_TOKEN, GHL_LOCATION_ID=DEMO_LOCATION,
               GHL_CALENDAR_ID=DEMO_CALENDAR, GHL_SCOPES=" ".join(DEMO_SCOPES))
    return url


def start_toky_sim(sup: Supervisor, env: dict[str, str]) -> str:
    """The Toky simulator with demo calls, voicemails and SMS; sets ``TOKY_*``."""
    child = sup.start("toky-sim", [PY, "-m", "simulators.toky", "--seed-demo",
                                   "--port", str(free_port())], env)
    url = _url_after(sup.wait_for_line(child, "listening on", 20), "listening on")
    env.update(TOKY_API_BASE=url, TOKY_API_KEY="toky-sim-key")
    return url


def start_workers(sup: Supervisor, env: dict[str, str], count: int) -> None:
    for i in range(1, count + 1):
        child = sup.start(f"worker{i}" if count > 1 else "worker",
                          cli("worker", "--concurrency", "8", "-n", f"worker{i}@%h"), env)
        sup.wait_for_line(child, "ready", READY_TIMEOUT_S)


@dataclass(frozen=True)
class FlowerAccess:
    """Where Flower listens; ``password`` only when generated for this run (else None)."""

    url: str
    user: str | None
    password: str | None


def start_flower(sup: Supervisor, env: dict[str, str]) -> FlowerAccess:
    """Flower on loopback, behind FLOWER_BASIC_AUTH (a generated password when unset)."""
    password = None
    if not env.get("FLOWER_BASIC_AUTH", "").strip():
        password = secrets.token_urlsafe(12)
        env["FLOWER_BASIC_AUTH"] = f"{FLOWER_USER}:{password}"
    user = env["FLOWER_BASIC_AUTH"].strip().partition(":")[0]
    port = free_port()
    child = sup.start("flower", cli("flower", "--port", str(port), "--address", "127.0.0.1"), env)
    sup.wait_for_line(child, "Visit me at", READY_TIMEOUT_S)
    return FlowerAccess(f"http://127.0.0.1:{port}", user, password)


def start_webhook(sup: Supervisor, env: dict[str, str]) -> tuple[str, str | None]:
    """The webhook receiver on a free loopback port: (its URL, the secret if generated)."""
    generated = None
    if not env.get("WEBHOOK_SECRET", "").strip():
        generated = secrets.token_urlsafe(32)
        env["WEBHOOK_SECRET"] = generated
    child = sup.start("webhook", cli("webhook", "--port", "0"), env)
    line = sup.wait_for_line(child, "listening on", READY_TIMEOUT_S)
    return _url_after(line, "listening on").split("/webhooks/")[0], generated


def start_metrics(sup: Supervisor, env: dict[str, str]) -> str:
    """The Prometheus exporter (``toky-ghl metrics``) on a free loopback port: its URL."""
    child = sup.start("metrics", cli("metrics", "--port", "0"), env)
    return _url_after(sup.wait_for_line(child, "serving on", READY_TIMEOUT_S), "serving on")


def start_poller(sup: Supervisor, env: dict[str, str]) -> None:
    sup.start("poller", cli("poll"), env)


#: A contact "added in GHL by a user" for the demo: the mirror copies it into Toky.
DEMO_GHL_CONTACT = {"name": "Gina Hall", "firstName": "Gina", "lastName": "Hall",
                    "email": "gina.hall@example.com", "phone": "+15125550188",
                    "city": "Austin", "country": "US", "source": "GHL demo"}
_ON = {"1", "true", "yes", "on"}


def mirror_wanted(env: dict[str, str], *, demo: bool) -> bool:
    """Whether ``toky-ghl run`` starts the GHL → Toky mirror: ``MIRROR_GHL_TO_TOKY`` when set;
    unset, on in the demo (``demo``: both simulators), where it sets the variable for every
    child (so ``toky-ghl status`` shows it on)."""
    raw = env.get("MIRROR_GHL_TO_TOKY", "").strip().lower()
    if raw:
        return raw in _ON
    if demo:
        env["MIRROR_GHL_TO_TOKY"] = "1"
    return demo


def start_mirror(sup: Supervisor, env: dict[str, str], *, ghl_sim: str | None = None) -> None:
    """The mirror; with ``ghl_sim`` (the demo), first a contact added in the GHL simulator
    as a user would, which then appears in the Toky simulator."""
    if ghl_sim:
        import requests

        from simulators.ghl.demo import DEMO_LOCATION

        requests.post(f"{ghl_sim}/_sim/contacts", timeout=10,
                      json={"location_id": DEMO_LOCATION, "contact": DEMO_GHL_CONTACT}
                      ).raise_for_status()
    sup.start("mirror", cli("mirror"), env)


def start_demo_enqueue(sup: Supervisor, env: dict[str, str]) -> None:
    """Queue the demo events once (the child exits when done)."""
    sup.start("enqueue", cli("enqueue", str(DEMO_EVENTS)), env)
