"""The Toky poller end to end: `toky-ghl poll --once` processes against the Toky
simulator, a real worker applying to the GHL simulator, the real Redis."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from simulators.serve import serve_in_thread
from simulators.toky import TokySim, create_app
from tests.integration.harness import REPO, worker_env

pytestmark = pytest.mark.integration

KEY = "toky-e2e-key"
ANA = "+15125550101"
BEN = "+15125550102"


@pytest.fixture
def toky():
    sim = TokySim(api_key=KEY)
    now = datetime.now(UTC).replace(microsecond=0)
    sim.add_contact(phone=ANA, contact_name="Ana Ruiz", email="ana@example.com")
    sim.add_contact(phone=BEN, contact_name="Ben Ode")
    sim.add_call(from_number=ANA, to_number="+15125550000", duration_s=75,
                 init_dt=now - timedelta(hours=2))
    sim.add_call(from_number=BEN, to_number="+15125550000", disposition_code=487,
                 init_dt=now - timedelta(hours=1))
    with serve_in_thread(create_app(sim)) as server:
        yield sim, f"{server.url}/v1"


def poll_once(env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "cli.main", "poll", "--once"], env=env,
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def test_polls_apply_what_is_new_and_only_that(toky, ghl, pipeline, start_worker, redis_url):
    sim, toky_url = toky
    env = worker_env(redis_url, ghl, TOKY_API_BASE=toky_url, TOKY_API_KEY=KEY)
    start_worker()

    # When the first poll runs
    poll_once(env)
    pipeline.wait_handled(4)  # 2 contacts, 2 calls (the missed one: note + follow-up)
    # Then GHL has both contacts, a note per call and the missed call's follow-up
    assert ghl.contact_by_phone(ANA)["name"] == "Ana Ruiz"
    assert len(ghl.children_of("notes", ANA)) == 1 and len(ghl.children_of("notes", BEN)) == 1
    assert [t["title"].startswith("Call back") for t in ghl.children_of("tasks", BEN)] == [True]
    writes_after_first = ghl.writes()

    # When a poller process starts again with nothing new in Toky
    poll_once(env)
    # Then nothing more is written to GHL
    assert ghl.writes() == writes_after_first

    # When a contact changes and a new call arrives
    sim.update_contact(ANA, contact_name="Ana Ruiz-Lee")
    sim.add_call(from_number=BEN, to_number="+15125550000", duration_s=30,
                 init_dt=datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5))
    handled = pipeline.handled()
    poll_once(env)
    pipeline.wait_handled(handled + 2)
    # Then exactly those are applied: the new name, one more note for Ben
    assert ghl.contact_by_phone(ANA)["name"] == "Ana Ruiz-Lee"
    assert len(ghl.children_of("notes", BEN)) == 2
    assert ghl.writes() == writes_after_first + 2
    assert pipeline.dead_letters() == []
