"""``toky-ghl scheduler --once`` releases what is due (fakeredis in place of Redis)."""

from __future__ import annotations

import fakeredis
import pytest

from cli import main as cli
from toky_ghl.keys import queue_key
from worker.delay import DelayStore, ParkReason


def test_scheduler_once_releases_due_events(monkeypatch, capsys):
    client = fakeredis.FakeRedis()
    monkeypatch.setenv("GHL_LOCATION_ID", "loc-1")
    monkeypatch.setenv("GHL_TOKEN", "tok")
    monkeypatch.setattr("toky_ghl.redis_conn.require_redis", lambda url=None: client)
    event = {"id": "e1", "type": "contact.created", "occurred_at": "2026-11-02T09:00:00Z",
             "data": {"phone": "+15125550101"}}
    DelayStore(client, "tokyghl").park("loc-1", event, reason=ParkReason.BACKOFF, wait_ms=0,
                                       kwargs={})
    assert cli.main(["scheduler", "--once"]) == 0
    assert "released 1 parked event(s)" in capsys.readouterr().err
    assert client.llen(queue_key("tokyghl")) == 1


@pytest.mark.parametrize("argv", [["scheduler", "--help"]])
def test_scheduler_is_a_documented_command(argv, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    assert done.value.code == 0 and "parked" in capsys.readouterr().out
