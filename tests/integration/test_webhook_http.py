"""The webhook receiver served by waitress over real HTTP, queueing into the real Redis;
and ``toky-ghl webhook`` as a process: the secret is in no log line of either."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import threading
import time

import pytest
import redis
import requests

from producers.queue import EventPublisher
from producers.webhook import create_app, make_server
from tests.unit.poller_support import queued_ids

pytestmark = pytest.mark.integration

SECRET = "whsec-Http-0123456789abcdef"
PREFIX = "t-webhook"
CALL = {"callid": "call-http-1", "direction": "inbound", "state": "missed",
        "from_number": "+15125550101", "to_number": "+15125550000", "duration": "0",
        "date": "2026-11-20 11:58:00"}


@pytest.fixture
def served(real_redis):
    app = create_app(secret=SECRET, publisher=EventPublisher(real_redis, key_prefix=PREFIX),
                     redis_client=real_redis, max_body_bytes=4096)
    server = make_server(app, port=0, threads=4, max_body_bytes=4096)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=5)


def hook(base: str, event: str = "inbound_call_ended", token: str | None = SECRET) -> str:
    return f"{base}/webhooks/toky/{event}" + (f"?token={token}" if token is not None else "")


def test_every_answer_over_http(served, real_redis):
    # Given the receiver on waitress
    # When Toky (and others) post
    answers = {
        "queued": requests.post(hook(served), json=CALL),
        "repeat": requests.post(hook(served), json=CALL),
        "form": requests.post(hook(served), data={**CALL, "callid": "call-http-2"}),
        "header": requests.post(hook(served, token=None), json={**CALL, "callid": "call-http-3"},
                                headers={"X-Webhook-Token": SECRET}),
        "bad": requests.post(hook(served), json={**CALL, "state": "ringing"}),
        "no token": requests.post(hook(served, token=None), json=CALL),
        "wrong token": requests.post(hook(served, token="guess"), json=CALL),
        "unhandled": requests.post(hook(served, "new_call"), json=CALL),
        "too large": requests.post(hook(served), json={**CALL, "pad": "x" * 5000}),
        "too large chunked": requests.post(hook(served), data=iter([b"{" + b" " * 5000 + b"}"]),
                                           headers={"Content-Type": "application/json"}),
        "health": requests.get(f"{served}/healthz"),
    }
    # Then each gets the contract's answer, and only the three good calls are queued
    codes = {name: answer.status_code for name, answer in answers.items()}
    assert codes == {"queued": 202, "repeat": 202, "form": 202, "header": 202, "bad": 400,
                     "no token": 401, "wrong token": 401, "unhandled": 404, "too large": 413,
                     "too large chunked": 413, "health": 200}
    assert answers["repeat"].json() == {"status": "repeat", "event_id": "call-call-http-1"}
    assert answers["bad"].json()["field"] == "state"
    assert sorted(queued_ids(real_redis, PREFIX)) == ["call-call-http-1", "call-call-http-2",
                                              "call-call-http-3"]


def test_the_secret_is_in_no_log_line(served, caplog, capfd):
    # Given every logger (waitress's, Flask's, ours) captured at DEBUG
    with caplog.at_level(logging.DEBUG):
        # When requests with the right and wrong secrets, good and bad, arrive
        requests.post(hook(served), json=CALL)
        requests.post(hook(served), json={**CALL, "from_number": "12"})
        requests.post(hook(served, token=SECRET + "x"), json=CALL)
        requests.post(hook(served, "nope"), json=CALL)
        requests.post(hook(served), data=b"x" * 10_000)
    # Then the secret appears nowhere in the server's logs or output (urllib3's lines are
    # the test's own client)
    out, err = capfd.readouterr()
    server_side = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records
                            if not r.name.startswith("urllib3"))
    assert "webhook.unauthorized" in server_side + out + err
    assert SECRET not in server_side + out + err


def test_the_webhook_command_serves_and_never_prints_the_secret(redis_url, real_redis):
    # Given `toky-ghl webhook` started as a process on a free port, with DEBUG logs
    env = {**os.environ, "REDIS_URL": redis_url, "WEBHOOK_SECRET": SECRET,
           "LOG_LEVEL": "DEBUG", "TOKY_GHL_KEY_PREFIX": PREFIX, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "webhook", "--port", "0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # (at DEBUG, library lines may come first: read up to the summary line)
        first, match = "", None
        for _ in range(50):
            line = proc.stderr.readline()
            first += line
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+)/webhooks/toky/", line)
            if match or not line:
                break
        assert match, first
        base = match.group(1)
        # When Toky posts a call, a wrong token arrives, and a bad payload
        ok = requests.post(hook(base), json=CALL, timeout=10)
        requests.post(hook(base, token="guess"), json=CALL, timeout=10)
        requests.post(hook(base), json={**CALL, "callid": ""}, timeout=10)
        time.sleep(0.2)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    # Then the call is queued and the process printed the attempts but never the secret
    assert ok.status_code == 202
    assert queued_ids(real_redis, PREFIX) == ["call-call-http-1"]
    assert "webhook.unauthorized" in err and "webhook.invalid" in err
    assert SECRET not in first + out + err


def test_healthz_is_503_when_redis_is_gone(real_redis):
    # Given a receiver pointed at a Redis that does not answer
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    app = create_app(secret=SECRET, publisher=EventPublisher(dead), redis_client=dead)
    # When a load balancer asks
    answer = app.test_client().get("/healthz")
    # Then 503
    assert answer.status_code == 503
