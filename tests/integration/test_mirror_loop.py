"""The GHL → Toky mirror end to end: both simulators over HTTP, the real Redis, a real
worker process, the Toky poller and the mirror poller taking turns, round after round.

Contacts added in GHL appear in Toky once; an edit in GHL updates Toky; a Toky edit
goes to GHL and does not come back; rounds after that change nothing at either side
(writes are counted at both simulators); a GHL contact without a phone is skipped and
counted in ``toky-ghl status``.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import requests

from clients.toky import TokyClient
from producers.mirror import MirrorPoller
from producers.mirror.ghl_source import GhlContactChanges
from producers.poller import Poller
from producers.queue import EventPublisher
from simulators.serve import serve_in_thread
from simulators.toky import TokySim
from simulators.toky import create_app as create_toky_app
from tests.integration.harness import PREFIX, REPO, worker_env
from toky_ghl.keys import queue_key
from toky_ghl.settings import Settings
from worker.ratelimit.shared import shared_limiter
from worker.runtime import build_runtime
from worker.status import collect_status, format_status

pytestmark = pytest.mark.integration

TOKY_KEY = "toky-mirror-key"
# Toky's own contacts (they go to GHL through the Toky poller).
ANA = "+15125550101"
BOB = "+15125550102"
# Contacts added in GHL by its users (they go to Toky through the mirror).
GINA = "+15125550188"
HUGO = "+442079460188"


@pytest.fixture
def toky():
    sim = TokySim(api_key=TOKY_KEY)
    sim.add_contact(phone=ANA, contact_name="Ana María López", email="Ana@Example.com",
                    city="Austin", country_code="US")
    sim.add_contact(phone=BOB, contact_name="Bob  Smith", email="bob@example.com")
    server = serve_in_thread(create_toky_app(sim))
    server.sim = sim
    yield server
    server.stop()


class Sides:
    """Both pollers as `toky-ghl poll --once` / `toky-ghl mirror --once` run them, and
    what the real worker did with what they queued."""

    def __init__(self, env: dict[str, str], pipeline, ghl, toky) -> None:
        self.settings = Settings.from_env(env)
        self.pipeline, self.ghl, self.toky = pipeline, ghl, toky
        self.publisher = EventPublisher(pipeline.redis, key_prefix=PREFIX)
        since = datetime.now(UTC) - timedelta(days=1)
        self.toky_poller = Poller(TokyClient(base_url=f"{toky.url}/v1", api_key=TOKY_KEY),
                                  pipeline.redis, self.publisher, key_prefix=PREFIX,
                                  backfill_since=since, resources=("contacts",))
        runtime = build_runtime(self.settings, pipeline.redis)  # the workers' client + limiter
        self.mirror = MirrorPoller(GhlContactChanges(runtime.client, page_size=2),
                                   pipeline.redis, self.publisher, key_prefix=PREFIX,
                                   backfill_since=since, overlap_s=60)
        self.expected = 0
        self.echoes = 0  # GHL contacts the mirror left out as toky-ghl's own writes

    def _settle(self, report) -> int:
        assert not report.failures, report.text()
        self.expected += report.counts.queued
        self.pipeline.wait_handled(self.expected, timeout_s=60)
        return report.counts.queued

    def poll_toky(self) -> int:
        return self._settle(self.toky_poller.poll_once())

    def poll_ghl(self) -> int:
        report = self.mirror.poll_once()
        self.echoes += report.echoes
        return self._settle(report)

    def round(self) -> int:
        """One turn of each poller, each waited for; the events both queued."""
        return self.poll_toky() + self.poll_ghl()

    def writes(self) -> tuple[int, int]:
        """(write requests that reached GHL, write requests that reached Toky)."""
        return self.ghl.writes(), self.toky.sim.writes("/contacts")

    def quiet_rounds(self, n: int = 3) -> None:
        """``n`` more rounds queue nothing and write nothing anywhere."""
        before = self.writes()
        for _ in range(n):
            assert self.round() == 0
        assert self.writes() == before

    def toky_contact(self, phone: str) -> dict | None:
        return self.toky.sim.contact(phone)


def _add_ghl_contact(ghl, **fields) -> dict:
    answer = requests.post(f"{ghl.url}/_sim/contacts", timeout=10,
                           json={"location_id": ghl.location_id, "contact": fields})
    answer.raise_for_status()
    return answer.json()


def _edit_ghl_contact(ghl, contact_id: str, **fields) -> None:
    requests.put(f"{ghl.url}/_sim/contacts/{contact_id}", timeout=10,
                 json={"location_id": ghl.location_id, "contact": fields}).raise_for_status()


@pytest.fixture
def sides(redis_url, ghl, toky, pipeline, start_worker):
    env = worker_env(redis_url, ghl, TOKY_API_BASE=f"{toky.url}/v1", TOKY_API_KEY=TOKY_KEY,
                     MIRROR_GHL_TO_TOKY="1")
    start_worker(TOKY_API_BASE=f"{toky.url}/v1", TOKY_API_KEY=TOKY_KEY, MIRROR_GHL_TO_TOKY="1")
    return Sides(env, pipeline, ghl, toky)


def test_ghl_contacts_reach_toky_once_edits_follow_and_nothing_loops(sides, ghl, toky,
                                                                     pipeline):
    # Given two Toky contacts, and three contacts added in GHL by its users (one without
    # a phone, one with a national number and its country)
    gina = _add_ghl_contact(ghl, name="Gina Hall", firstName="Gina", lastName="Hall",
                            email="Gina.Hall@Example.com", phone=GINA, city="Austin",
                            country="US")
    _add_ghl_contact(ghl, firstName="Hugo", lastName="Moreau", phone="020 7946 0188",
                     country="GB", email="hugo@example.co.uk")
    _add_ghl_contact(ghl, name="Nadia Nophone", email="nadia@example.com")
    # When both pollers take turns until nothing more happens
    for _ in range(2):
        sides.round()
    # Then each GHL contact with a phone is in Toky, made once (one POST each) ...
    assert toky.sim.writes("/contacts") == 2
    assert sides.toky_contact(GINA) == {
        "contact_name": "Gina Hall", "phone": GINA, "email": "Gina.Hall@Example.com",
        "city": "Austin", "country_code": "US"}
    assert sides.toky_contact(HUGO)["contact_name"] == "Hugo Moreau"
    # ... Toky's contacts are in GHL, and no phone has two GHL contacts
    assert ghl.contact_by_phone(ANA)["email"] == "ana@example.com"
    assert ghl.contact_by_phone(BOB)["name"].split() == ["Bob", "Smith"]
    assert len(ghl.objects("contacts")) == 5
    assert len(toky.sim.contacts()) == 4
    # ... and the mirror left out the two contacts toky-ghl wrote to GHL from Toky
    assert sides.echoes == 2
    # And more rounds of both pollers queue nothing and write nothing at either side
    sides.quiet_rounds()

    # When a GHL user edits Gina
    _edit_ghl_contact(ghl, gina["id"], name="Gina Hall-Ruiz", lastName="Hall-Ruiz",
                      city="Dallas")
    toky_writes = toky.sim.writes("/contacts")
    sides.round()
    # Then Toky's Gina is updated with one PUT, and nothing comes back or loops
    assert toky.sim.writes("/contacts") == toky_writes + 1
    assert (sides.toky_contact(GINA)["contact_name"], sides.toky_contact(GINA)["city"]) == \
        ("Gina Hall-Ruiz", "Dallas")
    sides.quiet_rounds()

    # When a Toky user edits Ana
    requests.put(f"{toky.url}/_sim/contacts/{ANA}", json={"city": "Round Rock"},
                 timeout=10).raise_for_status()
    ghl_writes, toky_writes = sides.writes()
    sides.round()
    # Then GHL's Ana follows with one write, the mirror does not copy it back to Toky
    assert ghl.contact_by_phone(ANA)["city"] == "Round Rock"
    assert sides.writes() == (ghl_writes + 1, toky_writes)
    assert sides.echoes == 3
    sides.quiet_rounds()

    # When the GHL user edits Gina back to what Toky first received
    _edit_ghl_contact(ghl, gina["id"], name="Gina Hall", lastName="Hall", city="Austin")
    sides.round()
    # Then Toky follows again (an old fingerprint never hides a new edit)
    assert (sides.toky_contact(GINA)["contact_name"], sides.toky_contact(GINA)["city"]) == \
        ("Gina Hall", "Austin")
    sides.quiet_rounds()

    # When a Toky user edits Gina, who came from GHL
    requests.put(f"{toky.url}/_sim/contacts/{GINA}", json={"email": "gina@hall.example"},
                 timeout=10).raise_for_status()
    ghl_writes, toky_writes = sides.writes()
    sides.round()
    # Then the same GHL contact follows with one write, and nothing comes back
    assert ghl.contact_by_phone(GINA)["id"] == gina["id"]
    assert ghl.contact_by_phone(GINA)["email"] == "gina@hall.example"
    assert sides.writes() == (ghl_writes + 1, toky_writes)
    sides.quiet_rounds()

    # And the contact without a phone was skipped once, and status says so
    report = collect_status(pipeline.redis, sides.settings)
    assert report["mirror"]["skipped_no_phone"] == 1
    assert (report["mirror"]["created"], report["mirror"]["unchanged"]) == (2, 0)
    assert "mirror        on: 2 created, 2 updated in Toky" in format_status(report)
    assert "1 without a phone" in format_status(report)
    assert pipeline.dead_letters() == []


def test_the_mirror_command_reads_through_the_shared_budget(redis_url, real_redis, ghl,
                                                            pipeline):
    # Given GHL contacts added by users, and the budget of the location in Redis
    for i in range(5):
        _add_ghl_contact(ghl, name=f"User {i}", phone=f"+1512555030{i}")
    env = worker_env(redis_url, ghl, MIRROR_GHL_TO_TOKY="1", LOG_LEVEL="WARNING")
    settings = Settings.from_env(env)
    limiter = shared_limiter(settings, pipeline.redis)
    before = limiter.snapshot(ghl.location_id).daily_remaining
    searches = ghl.sim.stats_snapshot()["by_route"].get("POST /contacts/search", 0)
    # When `toky-ghl mirror --once` runs with pages of 2
    done = subprocess.run([sys.executable, "-m", "cli.main", "mirror", "--once",
                           "--page-size", "2"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    # Then it read every page, printed its progress and queued one event per contact
    assert done.returncode == 0, done.stderr
    assert "backfill ghl contacts: 3 pages, 5 records, 5 queued" in done.stderr
    assert "mirror: ghl contacts: 3 pages, 5 records, 5 queued, 0 repeats, 0 invalid" \
        in done.stderr
    assert pipeline.redis.llen(queue_key(PREFIX)) == 5
    # And each of its 3 search requests was drawn from the location's shared budget
    pages = ghl.sim.stats_snapshot()["by_route"]["POST /contacts/search"] - searches
    assert pages == 3
    assert before - limiter.snapshot(ghl.location_id).daily_remaining == pages
    # When it runs again
    again = subprocess.run([sys.executable, "-m", "cli.main", "mirror", "--once"],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    # Then nothing is queued twice
    assert again.returncode == 0, again.stderr
    assert "0 queued" in again.stderr and "backfill" not in again.stderr
    assert pipeline.redis.llen(queue_key(PREFIX)) == 5


def test_the_mirror_command_is_off_without_the_setting(redis_url, ghl):
    # Given no MIRROR_GHL_TO_TOKY
    env = {k: v for k, v in worker_env(redis_url, ghl).items() if k != "MIRROR_GHL_TO_TOKY"}
    # When `toky-ghl mirror --once` runs
    done = subprocess.run([sys.executable, "-m", "cli.main", "mirror", "--once"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    # Then it says it is off, reads nothing and exits 0
    assert done.returncode == 0
    assert "MIRROR_GHL_TO_TOKY=1" in done.stderr
    assert ghl.sim.stats_snapshot()["requests_total"] == 0
