"""GHL simulator over real HTTP (waitress), as the worker and ``toky-ghl run`` meet it."""

from __future__ import annotations

import re
import select
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from simulators.ghl import GhlSim, SimConfig, create_app
from simulators.ghl.testing import ALL_SCOPES
from simulators.serve import serve_in_thread

pytestmark = pytest.mark.integration

LOC = "locAAAAAAAAAAAAAAAAA"
HEADERS = {"Authorization": "Bearer tok", "Version": "2021-07-28"}


@pytest.fixture
def sim() -> GhlSim:
    sim = GhlSim(SimConfig())
    sim.add_token("tok", LOC, ALL_SCOPES)
    return sim


@pytest.fixture
def url(sim: GhlSim):
    with serve_in_thread(create_app(sim)) as server:
        yield server.url


def test_a_contact_round_trip_with_rate_headers(url):
    created = requests.post(f"{url}/contacts/", headers=HEADERS, timeout=5,
                            json={"locationId": LOC, "email": "a@example.com", "tags": ["x"]})
    assert created.status_code == 201
    assert created.headers["x-ratelimit-remaining"] == "99"
    cid = created.json()["contact"]["id"]
    removed = requests.delete(f"{url}/contacts/{cid}/tags", headers=HEADERS, timeout=5,
                              json={"tags": ["x"]})
    assert removed.status_code == 200 and removed.json() == {"tags": []}
    got = requests.get(f"{url}/contacts/{cid}", headers=HEADERS, timeout=5)
    assert got.json()["contact"]["tags"] == []
    assert got.headers["X-RateLimit-Remaining"] == "97"
    assert got.headers["X-RateLimit-Daily-Remaining"] == "199997"


def test_429_over_the_burst_and_recovery_after_the_window(url, sim):
    # a window long enough that the 4 requests fall in it on a busy machine too
    sim.update_config(max_requests=3, interval_ms=2000)
    session = requests.Session()
    session.headers.update(HEADERS)
    statuses = [session.get(f"{url}/contacts/", params={"locationId": LOC}, timeout=5)
                for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert statuses[-1].json() == {"statusCode": 429, "message": "Too many requests"}
    assert "Retry-After" not in statuses[-1].headers
    time.sleep(2.05)
    assert session.get(f"{url}/contacts/", params={"locationId": LOC}, timeout=5).status_code == 200


def test_concurrent_requests_never_exceed_the_budget(url, sim):
    sim.update_config(max_requests=10)

    def read(_: int) -> int:
        return requests.get(f"{url}/contacts/", params={"locationId": LOC}, headers=HEADERS,
                            timeout=10).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(read, range(30)))
    assert statuses.count(200) == 10 and statuses.count(429) == 20


def test_concurrent_upserts_of_one_email_make_one_contact(url, sim):
    def upsert(i: int) -> dict:
        return requests.post(f"{url}/contacts/upsert", headers=HEADERS, timeout=10,
                             json={"locationId": LOC, "email": "same@example.com",
                                   "city": f"c{i}"}).json()

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(upsert, range(12)))
    assert sum(a["new"] for a in answers) == 1
    assert len(sim.state()["locations"][LOC]["contacts"]) == 1


def test_a_lost_answer_is_504_but_the_state_has_the_write(url, sim):
    sim.update_config(lost_answer_rate=1.0)
    answer = requests.post(f"{url}/contacts/", headers=HEADERS, timeout=5,
                           json={"locationId": LOC, "email": "a@example.com"})
    assert answer.status_code == 504
    state = requests.get(f"{url}/_sim/state", timeout=5).json()
    assert [c["email"] for c in state["locations"][LOC]["contacts"]] == ["a@example.com"]
    assert requests.get(f"{url}/_sim/stats", timeout=5).json()["lost_answers"] == 1


def test_the_command_line_serves_and_prints_its_url():
    command = [sys.executable, "-m", "simulators.ghl", "--port", "0", "--token", "T",
               "--location", "L", "--scopes", "contacts.readonly contacts.write",
               "--calendar", "C", "--max-requests", "7"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 20)
            assert ready, "the simulator printed nothing within 20 s"
            line = proc.stdout.readline().strip()
            match = re.fullmatch(r"GHL simulator listening on (http://127\.0\.0\.1:\d+)", line)
            assert match, (line, proc.poll() is not None and proc.stderr.read())
            base = match.group(1)
            answer = requests.get(f"{base}/contacts/", params={"locationId": "L"}, timeout=5,
                                  headers={"Authorization": "Bearer T", "Version": "2021-07-28"})
            assert answer.status_code == 200
            assert answer.headers["X-RateLimit-Max"] == "7"
            state = requests.get(f"{base}/_sim/state", timeout=5).json()
            assert state["locations"]["L"]["calendars"] == ["C"]
        finally:
            proc.terminate()
            proc.wait(timeout=10)
