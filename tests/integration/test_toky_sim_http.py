"""The real Toky client against the simulator served over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from clients.toky import TokyAuthError, TokyClient
from simulators.serve import serve_in_thread
from simulators.toky import TokySim, create_app

pytestmark = pytest.mark.integration

KEY = "sim-integration-key"
T0 = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def served():
    sim = TokySim(api_key=KEY)
    with serve_in_thread(create_app(sim)) as server:
        yield sim, server


def test_client_reads_several_pages_and_retries_over_http(served):
    sim, server = served
    # Given 7 calls an hour apart, and one 503 armed on the third page's path
    for hour in range(7):
        sim.add_call(from_number="+15125550101", to_number="+15125550000",
                     init_dt=T0 + timedelta(hours=hour))
    sleeps: list[float] = []
    client = TokyClient(base_url=f"{server.url}/v1", api_key=KEY, sleep=sleeps.append,
                        rand=lambda: 0.0)
    # When every call since T0 is read, 3 per page, with a 503 on the first request
    sim.fail_next("/cdrs", 503)
    rows = list(client.cdrs(since=T0, page_size=3))
    # Then all 7 arrive newest first over 3 pages (+1 retried request)
    assert [r["init_dt"][11:13] for r in rows] == ["18", "17", "16", "15", "14", "13", "12"]
    assert sim.stats()["requests"]["/v1/cdrs"] == 4
    assert sleeps == [0.0]


def test_wrong_key_over_http_is_an_auth_error(served):
    _sim, server = served
    # Given a client with the wrong key
    client = TokyClient(base_url=server.url, api_key="not-the-key", sleep=lambda _s: None)
    # When / Then
    with pytest.raises(TokyAuthError, match="check TOKY_API_KEY"):
        client.agents()
