"""The cursor on its own: mark, ids seen at (and just before) the mark, pruning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import fakeredis
import pytest

from producers.polling.cursor import Cursor

T = datetime(2026, 11, 20, 12, 0, 0, tzinfo=UTC)
SINCE = T - timedelta(days=7)


@pytest.fixture
def redis_client():
    return fakeredis.FakeRedis()


def test_first_floor_is_the_backfill_start_then_the_mark_minus_overlap(redis_client):
    # Given a new cursor with a 60 s overlap
    cursor = Cursor(redis_client, "t:poller:calls", overlap_s=60)
    first = cursor.floor(SINCE)
    # When a read up to T completes
    cursor.advance(T, first)
    # Then the first floor is the backfill start, the next one T - 60 s
    assert first == SINCE
    assert cursor.floor(SINCE) == T - timedelta(seconds=60)


def test_ids_at_the_mark_are_remembered_so_a_later_row_in_the_same_second_is_new(redis_client):
    # Given three rows in the same second, read and remembered, with no overlap
    cursor = Cursor(redis_client, "t:poller:calls", overlap_s=0)
    cursor.remember({"a": T, "b": T, "c": T})
    cursor.advance(T, SINCE)
    # When the same second is read again with a fourth row
    unseen = cursor.unseen(["a", "b", "c", "d"])
    # Then only the fourth is new
    assert unseen == {"d"}
    assert cursor.floor(SINCE) == T


def test_ids_older_than_mark_minus_overlap_are_forgotten(redis_client):
    # Given ids at T - 2 min, T - 30 s and T, with a 60 s overlap
    cursor = Cursor(redis_client, "t:poller:calls", overlap_s=60)
    cursor.remember({"old": T - timedelta(minutes=2), "near": T - timedelta(seconds=30),
                     "now": T})
    # When the mark moves to T
    cursor.advance(T, SINCE)
    # Then only the ids inside the overlap are kept
    members = {m.decode() for m in redis_client.zrange("t:poller:calls:seen", 0, -1)}
    assert members == {"near", "now"}


def test_the_mark_never_moves_back(redis_client):
    # Given a mark at T
    cursor = Cursor(redis_client, "t:poller:calls", overlap_s=0)
    cursor.advance(T, SINCE)
    # When a read whose newest row is older completes
    mark = cursor.advance(T - timedelta(hours=1), SINCE)
    # Then the mark stays at T
    assert mark == cursor.mark() == T


def test_a_read_with_no_rows_sets_the_mark_to_its_floor(redis_client):
    # Given a new cursor
    cursor = Cursor(redis_client, "t:poller:sms", overlap_s=0)
    # When a read finds nothing
    cursor.advance(None, SINCE)
    # Then the mark is the floor it read from
    assert cursor.mark() == SINCE
