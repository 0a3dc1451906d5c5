"""PIT rotation mid-run, with real Redis, four real workers and the simulator over HTTP:
`toky-ghl auth rotate` stores the new token, running workers use it from their next
call without a restart, the old one is then expired at GHL, and nothing is lost."""

from __future__ import annotations

import threading
import time

import pytest

from tests.integration.auth_support import KEY, cli, contacts_and_calls, leaked
from tests.integration.harness import WRITE_SCOPES, wait_until, worker_env

pytestmark = pytest.mark.integration

NEW_PIT = "pit-rotated-9b1e77c2d4a0"


HELD_BACK = 60  # the last events are queued only once the old token is expired at GHL


def feed(pipeline, events: list[dict], token_rotated: threading.Event, per_wave: int = 20,
         every_s: float = 0.5) -> None:
    for start in range(0, len(events), per_wave):
        if start >= len(events) - HELD_BACK:
            # however slow this machine runs `auth rotate`, these can only go out after it
            token_rotated.wait(300)
        pipeline.enqueue(events[start:start + per_wave])
        time.sleep(every_s)


def test_a_rotation_mid_run_loses_nothing(ghl, pipeline, start_worker, redis_url):
    # Given four workers using GHL_TOKEN, with the key to store a rotated token
    ghl.sim.update_config(latency_ms=20)
    workers = [start_worker(name=f"r{i}", TOKEN_ENCRYPTION_KEY=KEY) for i in range(4)]
    pids = [w.proc.pid for w in workers]
    events = contacts_and_calls(200, start=1000)
    ids = [e["id"] for e in events]
    token_rotated = threading.Event()
    feeder = threading.Thread(target=feed, args=(pipeline, events, token_rotated), daemon=True)
    feeder.start()  # 20 events every 0.5 s: the workers are busy all along
    wait_until(lambda: len(ids) - len(pipeline.unfinished(ids)) >= 40, 120,
               "the first events applied")

    # When a new PIT is made in GHL and rotated in from standard input
    ghl.sim.add_token(NEW_PIT, ghl.location_id, WRITE_SCOPES)
    env = worker_env(redis_url, ghl, TOKEN_ENCRYPTION_KEY=KEY)
    rotated = cli(env, "auth", "rotate", stdin=NEW_PIT + "\n")
    assert rotated.returncode == 0, rotated.stderr
    # and the old token is expired at GHL right after ("rotate and expire now")
    ghl.sim.oauth.revoke(ghl.sim.clock(), ghl.token)
    done_at_rotation = len(ids) - len(pipeline.unfinished(ids))
    token_rotated.set()  # the held-back events go out now: only the new token can apply them

    # Then every event is applied, with no dead letter and no worker restarted
    feeder.join(60)
    pipeline.wait_finished(ids, timeout_s=180)
    assert done_at_rotation <= len(ids) - HELD_BACK, "events were applied before the rotation"
    assert pipeline.dead_letters() == []
    assert len(ghl.objects("contacts")) == 200
    assert len([n for n in ghl.objects("notes") if "acid-" in n["body"]]) == 200
    assert [w.proc.pid for w in workers] == pids and all(w.proc.poll() is None for w in workers)
    # and the status shows the rotated token, never the token itself
    status = cli(env, "auth", "status")
    assert "Private Integration Token (from rotate, version 1)" in status.stdout
    assert "paused        no" in status.stdout
    for w in workers:
        w.stop()
    texts = [status.stdout, rotated.stdout, rotated.stderr, *(w.log() for w in workers)]
    assert leaked([NEW_PIT, ghl.token, KEY], texts) == []
