"""``toky-ghl webhook`` as a process, real HTTP, real Redis, under hostile input (issue 10):
every answer a 4xx (or 202 for the valid call), none a 5xx; the receiver keeps serving
(a 250 KB path costs no minutes of CPU; idle sockets beyond the connection limit do not
starve ``/healthz`` for long); only the valid call is queued, and it validates again."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time

import pytest
import requests

from contract.events import validate_event
from producers.webhook.serve import CONNECTION_LIMIT
from tests.unit.poller_support import PREFIX, queued_events

pytestmark = pytest.mark.integration

SECRET = "whsec-HostileHttp-0123456789abcdef"
CALL = {"callid": "call-hostile-1", "direction": "inbound", "state": "missed",
        "from_number": "+15125550101", "to_number": "+15125550000", "duration": "0",
        "date": "2026-11-20 11:58:00"}


@pytest.fixture
def receiver(redis_url):
    env = {**os.environ, "REDIS_URL": redis_url, "WEBHOOK_SECRET": SECRET,
           "TOKY_GHL_KEY_PREFIX": PREFIX, "PYTHONUNBUFFERED": "1", "LOG_FORMAT": "json"}
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "webhook", "--port", "0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first, match = "", None  # the lines up to "listening on"
    while match is None:
        line = proc.stderr.readline()
        assert line, first
        first += line
        match = re.search(r"listening on (http://127\.0\.0\.1:(\d+))/webhooks/toky/", line)
    yield match.group(1), proc
    if proc.poll() is None:
        proc.terminate()
    proc.communicate(timeout=30)


def hook(base: str, event: str = "inbound_call_ended") -> str:
    return f"{base}/webhooks/toky/{event}"


def _healthy_within(base: str, deadline_s: float) -> bool:
    """True once /healthz answers 200 (each try waits at most 5 s), before the deadline."""
    until = time.monotonic() + deadline_s
    while time.monotonic() < until:
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.5)
    return False


def test_hostile_requests_get_4xx_and_the_receiver_keeps_serving(receiver, real_redis):
    base, proc = receiver
    token = {"token": SECRET}
    deep = '{"callid": "c-x", "a": ' + "[" * 50_000 + "]" * 50_000 + "}"
    as_json = {"Content-Type": "application/json"}
    # Given hostile requests (and one valid call among them)
    sent = {
        "deep nesting": requests.post(hook(base), params=token, data=deep, headers=as_json),
        "1e999": requests.post(hook(base), params=token, headers=as_json,
                               data=json.dumps(CALL).replace('"0"', "1e999")),
        "400 digits": requests.post(hook(base), params=token, headers=as_json,
                                    data=json.dumps(CALL).replace('"0"', "9" * 400)),
        "year 1": requests.post(hook(base), params=token,
                                json={**CALL, "date": "0001-01-01T00:00:00+01:00"}),
        "NaN": requests.post(hook(base), params=token, headers=as_json,
                             data=json.dumps(CALL).replace('"0"', "NaN")),
        "dot-dot id": requests.post(hook(base), params=token, json={**CALL, "callid": ".."}),
        "not UTF-8": requests.post(hook(base), params=token, data=b"\xff\xfe{",
                                   headers=as_json),
        "JSON array": requests.post(hook(base), params=token, json=[CALL]),
        "JSON null": requests.post(hook(base), params=token, data="null", headers=as_json),
        "empty": requests.post(hook(base), params=token, data=b""),
        "xml": requests.post(hook(base), params=token, data=b"<a/>",
                             headers={"Content-Type": "application/xml"}),
        "5,000-char event": requests.post(hook(base, "e" * 5_000), params=token, json=CALL),
        "traversal": requests.post(f"{base}/webhooks/toky/..%2F..%2Fhealthz", params=token,
                                   json=CALL),
        "2,000 tokens": requests.post(hook(base), json=CALL, params=[
            ("token", f"guess-{i}") for i in range(1_999)] + [("token", SECRET)]),
        "250 KB path": requests.post(hook(base, "A" * 250_000), params={"token": "guess"},
                                     json=CALL, timeout=120),
        "valid": requests.post(hook(base), params=token, json=CALL),
    }
    # Then each is a 4xx (the valid call 202), none a 5xx
    codes = {name: answer.status_code for name, answer in sent.items()}
    assert codes["valid"] == 202, codes
    assert all(400 <= code < 500 for name, code in codes.items() if name != "valid"), codes
    for name in ("deep nesting", "1e999", "400 digits", "year 1", "NaN", "dot-dot id"):
        assert codes[name] == 400, (name, codes[name])
    assert codes["2,000 tokens"] == 401 and codes["250 KB path"] in (401, 404, 414, 431)
    # And the receiver still answers, and only the valid call was queued, validating again
    assert requests.get(f"{base}/healthz", timeout=30).status_code == 200
    events = queued_events(real_redis)
    assert [e["id"] for e in events] == ["call-call-hostile-1"]
    assert validate_event(events[0]) == events[0]
    proc.terminate()
    _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err
    # And no log line carries a hostile value whole (each is cut)
    assert all(len(line) < 20_000 for line in err.splitlines())


def test_idle_connections_beyond_the_limit_do_not_starve_healthz(receiver):
    base, _ = receiver
    port = int(base.rsplit(":", 1)[1])
    # Given more idle connections than the receiver keeps open (each sends nothing)
    idle = []
    try:
        for _ in range(CONNECTION_LIMIT + 20):
            idle.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        # When a load balancer asks for /healthz
        # Then it gets 200 within a minute: idle sockets are closed after 10 s (waitress's
        # default of 120 s, with a 30 s sweep, kept them for minutes)
        assert _healthy_within(base, deadline_s=60)
    finally:
        for sock in idle:
            sock.close()
