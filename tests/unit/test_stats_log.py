"""The decisions' counters go through a log (worker.stats): one entry per decision,
folded into the hashes before anyone reads them."""

from __future__ import annotations

import fakeredis
import pytest
import redis

from toky_ghl.metrics import record
from worker.keys import stats_log_key as log_key
from worker.stats import Stats, fold

PREFIX = "t"


def test_each_decision_is_one_log_entry_and_every_reader_sees_it_folded():
    client = fakeredis.FakeRedis()
    stats = Stats(client, PREFIX)
    # Given two applied events and a dead letter, with the GHL request one of them made
    with record.collecting():
        record.ghl_request("loc", "POST", "/contacts/upsert", 200, 0.02)
        stats.finish("applied", "contact.created", "e1", "",
                     occurred_at="2026-11-02T09:00:00Z")
    stats.finish("applied", "contact.created", "e2", "")
    stats.finish("dead_lettered", "call.ended", "e3", "invalid")
    # Then each decision wrote one entry, and nothing reached the hashes yet
    assert client.llen(log_key(PREFIX)) == 3
    assert not client.exists(f"{PREFIX}:stats:counts")
    # When the counts are read, they include every decision, and the log is empty
    counts = stats.snapshot()
    assert (counts["applied"], counts["dead_lettered"]) == (2, 1)
    assert client.llen(log_key(PREFIX)) == 0
    events = client.hgetall(f"{PREFIX}:metrics:events")
    assert events[b"contact.created|applied|"] == b"2"
    assert events[b"call.ended|dead_lettered|invalid"] == b"1"
    ghl = client.hgetall(f"{PREFIX}:metrics:ghl")
    assert ghl[b"loc|POST|/contacts/upsert|200|0.025"] == b"1"
    assert ghl[b"loc|POST|/contacts/upsert|200|sum_ms"] == b"20"


def test_a_fold_sums_the_entries_and_a_second_fold_adds_nothing():
    client = fakeredis.FakeRedis()
    stats = Stats(client, PREFIX)
    for i in range(5):
        stats.finish("skipped", "call.ended", f"e{i}", "duplicate")
    assert fold(client, PREFIX) == 5
    assert fold(client, PREFIX) == 0
    assert client.hget(f"{PREFIX}:stats:counts", "skipped:call.ended") == b"5"


class RefusingScripts(fakeredis.FakeRedis):
    """A Redis that refuses writes from scripts, as one full under noeviction does."""

    def evalsha(self, *args, **kwargs):
        raise redis.exceptions.ResponseError("OOM command not allowed when used memory > "
                                             "'maxmemory'.")


def test_counts_are_still_read_when_redis_refuses_the_fold():
    client = RefusingScripts()
    client.hset(f"{PREFIX}:stats:counts", "applied:call.ended", 4)
    # When Redis refuses the fold, the reader gets what is folded instead of an error
    assert Stats(client, PREFIX).snapshot()["applied"] == 4
    with pytest.raises(redis.exceptions.ResponseError):
        fold(client, PREFIX)  # (the fold itself still says so)
