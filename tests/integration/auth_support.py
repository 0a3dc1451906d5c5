"""Helpers for the credential guarantee tests: OAuth worker environments, the CLI,
an interactive ``auth login`` through the simulator's consent page, and a watcher
that keeps every task message seen in the broker (what Flower would show)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterable

import redis
import requests
from cryptography.fernet import Fernet

from tests.integration.harness import REPO, WRITE_SCOPES, worker_env
from toky_ghl.keys import broker_keyprefix, queue_key, unacked_key
from worker.broker_processing import processing_lists

KEY = Fernet.generate_key().decode()
CLIENT_ID, CLIENT_SECRET = "toky-ghl-app", "app-SECRET-7f3a9c0e11d2"
REDIRECT = "https://toky-ghl.example/oauth/callback"


def oauth_vars(ghl, **overrides: str) -> dict[str, str]:
    """The variables (over ``worker_env``'s) of OAuth use: no GHL_TOKEN, client, key."""
    return {"GHL_TOKEN": "", "GHL_CLIENT_ID": CLIENT_ID, "GHL_CLIENT_SECRET": CLIENT_SECRET,
            "TOKEN_ENCRYPTION_KEY": KEY, "GHL_OAUTH_REDIRECT_URI": REDIRECT,
            "GHL_OAUTH_AUTHORIZE_URL": f"{ghl.url}/v2/oauth/chooselocation", **overrides}


def oauth_env(redis_url: str, ghl, **overrides: str) -> dict[str, str]:
    """A whole CLI environment using OAuth (see ``oauth_vars``)."""
    return worker_env(redis_url, ghl, **oauth_vars(ghl, **overrides))


def register_app(ghl) -> None:
    ghl.sim.oauth.register_app(CLIENT_ID, CLIENT_SECRET, ghl.location_id, WRITE_SCOPES.split())


def cli(env: dict[str, str], *args: str, stdin: str | None = None):
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, cwd=REPO,
                          input=stdin, capture_output=True, text=True, timeout=60)


def login_through_consent_page(env: dict[str, str], scopes: str) -> subprocess.CompletedProcess:
    """``toky-ghl auth login``: read the URL it prints, "consent" on the simulator's page,
    paste the redirect URL back on its standard input."""
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "auth", "login",
                             "--scopes", scopes], env=env, cwd=REPO, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = proc.stdout.readline().strip()
    consent = requests.get(url, allow_redirects=False, timeout=10)
    assert consent.status_code == 302, consent.text
    out, err = proc.communicate(consent.headers["Location"] + "\n", timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, url + "\n" + out, err)


def contacts_and_calls(n: int, start: int = 0) -> list[dict]:
    """``n`` contacts, then one completed call for each (phones ``+1512556xxxx``)."""
    events = [{"id": f"ac-{i}", "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
               "data": {"phone": f"+1512556{i:04d}", "contact_name": f"Person {i}"}}
              for i in range(start, start + n)]
    events += [{"id": f"acall-{i}", "type": "call.ended", "occurred_at": "2026-11-02T10:00:00Z",
                "data": {"callid": f"acid-{i:05d}", "direction": "inbound", "state": "completed",
                         "from_number": f"+1512556{i:04d}", "to_number": "+15125559999",
                         "duration": 42}}
               for i in range(start, start + n)]
    return events


class MessageWatcher:
    """Samples the queue, the workers' processing lists (the messages they hold:
    worker/broker_processing.py) and kombu's unacked hash every ``interval_s`` while
    running: the task messages (arguments included) a Flower would display."""

    def __init__(self, redis_url: str, interval_s: float = 0.2) -> None:
        self._redis = redis.Redis.from_url(redis_url)
        self._interval_s = interval_s
        self._stop = threading.Event()
        self.seen: set[bytes] = set()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MessageWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._redis.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.seen.update(self._redis.lrange(queue_key("tokyghl"), 0, -1))
            self.seen.update(self._redis.hvals(unacked_key("tokyghl")))
            for processing in processing_lists(self._redis, broker_keyprefix("tokyghl")):
                self.seen.update(self._redis.lrange(processing, 0, -1))
            time.sleep(self._interval_s)


def leaked(secrets: Iterable[str], texts: Iterable[str | bytes]) -> list[str]:
    """The secrets (shown by their first 8 characters only) found in any of ``texts``."""
    blobs = [t.encode() if isinstance(t, str) else t for t in texts]
    return [s[:8] + "…" for s in secrets if s and any(s.encode() in b for b in blobs)]
