"""A wrong client secret, with real Redis, four real workers and the simulator over HTTP:
a clear error, the location paused (`toky-ghl status` says why), no storm of failing
calls, no event lost; fixed credentials and `auth resume` apply everything."""

from __future__ import annotations

import json

import pytest

from tests.integration.auth_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    cli,
    contacts_and_calls,
    leaked,
    oauth_env,
    oauth_vars,
    register_app,
)
from tests.integration.harness import wait_until

pytestmark = pytest.mark.integration

WRONG = "not-the-SECRET-0000"


def test_a_wrong_client_secret_pauses_the_location_and_loses_nothing(
        ghl, pipeline, start_worker, redis_url):
    # Given a valid refresh token, but workers configured with a wrong client secret
    register_app(ghl)
    code = ghl.sim.oauth.issue_code(CLIENT_ID)
    with ghl.sim.lock:
        pair = ghl.sim.oauth.token({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                                    "grant_type": "authorization_code", "code": code},
                                   ghl.sim.clock(), 3600)
    wrong = {"GHL_CLIENT_SECRET": WRONG, "GHL_REFRESH_TOKEN": pair["refresh_token"]}
    workers = [start_worker(name=f"p{i}", **oauth_vars(ghl, **wrong)) for i in range(4)]
    events = contacts_and_calls(25, start=2000)
    ids = [e["id"] for e in events]
    pipeline.enqueue(events)

    # Then the location is paused with a clear reason naming what to check
    env = oauth_env(redis_url, ghl, **wrong)
    wait_until(lambda: json.loads(cli(env, "status", "--json").stdout)["paused"], 60,
               "the location paused")
    status = cli(env, "status")
    assert "paused        YES" in status.stdout
    assert "HTTP 401: Invalid client credentials" in status.stdout
    assert "GHL_CLIENT_SECRET" in status.stdout
    # and while paused, events wait: none applied, none dead-lettered, no API call sent,
    # and the token endpoint was asked once (no storm)
    # (every event was delivered during the pause and parked: a positive sign that the
    # workers ran, instead of a sleep after which "nothing happened")
    wait_until(lambda: pipeline.stats.snapshot()["retrying"] == len(ids), 90,
               "every event waiting")
    counts = pipeline.stats.snapshot()
    assert counts["applied"] == 0 and pipeline.dead_letters() == []
    assert ghl.sim.stats_snapshot()["requests_total"] == 0
    assert ghl.sim.oauth.snapshot()["refused"] == {"invalid client": 1}
    assert "auth.paused" in "".join(w.log() for w in workers)

    # When the workers get the right secret and the operator lifts the pause
    for w in workers:
        w.stop()
    fixed = [start_worker(name=f"f{i}", **oauth_vars(ghl)) for i in range(4)]
    resumed = cli(oauth_env(redis_url, ghl), "auth", "resume")
    assert resumed.returncode == 0 and "resumed" in resumed.stdout

    # Then every event is applied, none lost
    pipeline.wait_finished(ids, timeout_s=180)
    assert pipeline.dead_letters() == []
    assert len(ghl.objects("contacts")) == 25
    assert "paused        no" in cli(env, "status").stdout
    for w in fixed:
        w.stop()
    texts = [status.stdout, status.stderr, *(w.log() for w in workers + fixed)]
    assert leaked([WRONG, CLIENT_SECRET, pair["refresh_token"], pair["access_token"]],
                  texts) == []
