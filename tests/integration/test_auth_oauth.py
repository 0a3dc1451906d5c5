"""OAuth with real Redis, four real workers and the simulator over HTTP: access tokens
that expire (and one revoked) several times during a run of several hundred events;
no event fails, one refresh per expiry; tokens never in logs, task messages, Redis
(unencrypted) or ``auth status``."""

from __future__ import annotations

import json
import time

import pytest

from tests.integration.auth_support import (
    CLIENT_SECRET,
    KEY,
    MessageWatcher,
    cli,
    contacts_and_calls,
    leaked,
    login_through_consent_page,
    oauth_env,
    oauth_vars,
    register_app,
)
from tests.integration.harness import WRITE_SCOPES, wait_until

pytestmark = pytest.mark.integration

TTL_S = 3.0
MARGIN_S = 1.0


def test_expiring_tokens_are_refreshed_once_each_and_no_event_fails(
        ghl, pipeline, start_worker, redis_url):
    # Given an OAuth app whose access tokens live 3 s, and a slow-ish GHL
    ghl.sim.update_config(access_token_ttl_s=TTL_S, latency_ms=15)
    register_app(ghl)
    # GHL_SCOPES unset: the workers take the scopes granted with the token
    chosen = {"GHL_SCOPES": "", "GHL_TOKEN_REFRESH_MARGIN_S": str(MARGIN_S), "LOG_LEVEL": "DEBUG"}
    env = oauth_env(redis_url, ghl, **chosen)
    # When the operator logs in through the consent page
    login = login_through_consent_page(env, WRITE_SCOPES)
    assert login.returncode == 0, login.stderr
    assert "logged in" in login.stdout
    # and four workers run several hundred events, queued in waves over several lifetimes
    workers = [start_worker(name=f"w{i}", **oauth_vars(ghl, **chosen)) for i in range(4)]
    events = contacts_and_calls(150) + contacts_and_calls(150, start=150)
    extra: list[dict] = []  # a trickle that keeps the workers calling GHL while we wait

    def refreshed_since(n: int) -> bool:
        if len(ghl.sim.oauth.snapshot()["refreshes"]) > n:
            return True
        extra.extend(contacts_and_calls(1, start=1000 + len(extra) // 2))
        pipeline.enqueue(extra[-2:])
        time.sleep(0.2)
        return False

    started = time.monotonic()
    with MessageWatcher(redis_url) as watcher:
        for wave in range(12):  # 50 events a second: the workers are busy all along
            pipeline.enqueue(events[wave * 50:(wave + 1) * 50])
            if wave == 6:  # GHL revokes a fresh access token mid-run: the 401 path
                seen = len(ghl.sim.oauth.snapshot()["refreshes"])
                wait_until(lambda n=seen: refreshed_since(n), 20, "the next refresh")
                with ghl.sim.lock:
                    ghl.sim.oauth.revoke(ghl.sim.clock())
            time.sleep(1.0)
        events += extra
        ids = [e["id"] for e in events]
        pipeline.wait_finished(ids, timeout_s=240)
    elapsed_s = time.monotonic() - started

    # Then no event failed and GHL holds every contact and call note
    oauth = ghl.sim.oauth.snapshot()
    assert pipeline.dead_letters() == [], ([d.reason for d in pipeline.dead_letters()], oauth)
    assert len(ghl.objects("contacts")) == 300 + len(extra) // 2
    assert len([n for n in ghl.objects("notes") if "acid-" in n["body"]]) == 300 + len(extra) // 2
    assert all(w.proc.poll() is None for w in workers), "a worker died"
    # and the token endpoint never saw a refresh token twice (no double refresh)
    assert oauth["grants"].get("refused", 0) == 0, oauth["refused"]
    refreshes = oauth["refreshes"]
    # and the pair was refreshed several times, each within the margin of its expiry or
    # after the revocation: never early, so never twice for one expiry
    assert len(refreshes) >= 4, (len(refreshes), elapsed_s)
    assert all(r["remaining_s"] <= MARGIN_S + 0.5 for r in refreshes), refreshes
    assert any(r["remaining_s"] <= 0 for r in refreshes), "the revocation was not refreshed"
    assert ghl.sim.stats_snapshot()["by_status"].get("401", 0) >= 1

    # and `auth status` tells the story without a secret
    status = cli(env, "auth", "status", "--json")
    report = json.loads(status.stdout)
    assert report["kind"] == "oauth" and report["refreshes"] == len(refreshes)
    assert report["paused"] is None
    assert set(report["scopes_in_use"]) == set(WRITE_SCOPES.split())
    text = cli(env, "auth", "status").stdout

    # and no token, refresh token, client secret or key is in any log, task message,
    # status output or unencrypted Redis value
    for w in workers:
        w.stop()
    secrets = [*ghl.sim.oauth.issued_secrets(), CLIENT_SECRET, KEY]
    logs = [w.log() for w in workers]
    assert "auth.refreshed" in "".join(logs)
    assert watcher.seen, "no task message was seen"
    raw_redis = [pipeline.redis.get(k) or b"" for k in pipeline.redis.keys("*")
                 if pipeline.redis.type(k) == b"string"]
    raw_redis += [v for k in pipeline.redis.keys("tokyghl:auth:*")
                  if pipeline.redis.type(k) == b"hash"
                  for v in pipeline.redis.hvals(k)]
    where = {"worker logs": logs, "task messages": watcher.seen,
             "auth status": [status.stdout, status.stderr, text, login.stdout, login.stderr],
             "redis": raw_redis}
    for place, texts in where.items():
        assert leaked(secrets, texts) == [], f"secret found in {place}"


def test_four_workers_starting_on_an_expired_token_refresh_it_once(
        ghl, pipeline, start_worker, redis_url):
    # Given a login, then an idle time in which the access token expired
    ghl.sim.update_config(access_token_ttl_s=1.0)
    register_app(ghl)
    assert login_through_consent_page(oauth_env(redis_url, ghl), WRITE_SCOPES).returncode == 0
    time.sleep(1.2)
    ghl.sim.update_config(access_token_ttl_s=3600)
    # When four workers start at once, and events arrive
    for i in range(4):
        start_worker(name=f"late{i}", **oauth_vars(ghl))
    events = contacts_and_calls(20, start=500)
    pipeline.enqueue(events)
    pipeline.wait_finished([e["id"] for e in events], timeout_s=120)
    # Then everything is applied after exactly one refresh, shared by all
    assert pipeline.dead_letters() == []
    assert ghl.sim.oauth.snapshot()["grants"] == {"authorization_code": 1, "refresh_token": 1}
