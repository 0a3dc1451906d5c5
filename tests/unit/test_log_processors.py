"""Our cheaper processors answer as structlog's: the same context keys and values, the
same timestamp text, the same JSON."""

from __future__ import annotations

import contextvars
import datetime
import json
import threading

import structlog
from structlog.processors import JSONRenderer

from toky_ghl import log_processors


def test_the_context_merged_is_structlogs_whatever_is_bound_or_cleared():
    # Given context bound, a key cleared (unbound), and a key first bound after a merge
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(event_id="e1", task_id="t1", location=None)
    first = log_processors.merge_contextvars(None, "info", {"event": "x"})
    structlog.contextvars.unbind_contextvars("task_id")
    structlog.contextvars.bind_contextvars(lf_new_key_once=3)
    # When both merge into lines, one of which already has a context key of its own
    for line in ({"event": "x"}, {"event": "x", "event_id": "the line's own"}):
        ours = log_processors.merge_contextvars(None, "info", dict(line))
        theirs = structlog.contextvars.merge_contextvars(None, "info", dict(line))
        # Then they hold the same keys and values (None kept, the line's own value kept)
        assert ours == theirs
    assert first == {"event": "x", "event_id": "e1", "task_id": "t1", "location": None}
    assert "task_id" not in ours and ours["lf_new_key_once"] == 3
    structlog.contextvars.clear_contextvars()


def test_the_context_merged_is_the_callers_own():
    # Given a context bound in this thread only
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(event_id="here")
    seen = {}
    # When another thread (its own, empty context) and an empty copied context merge
    thread = threading.Thread(
        target=lambda: seen.update(log_processors.merge_contextvars(None, "info", {})))
    thread.start()
    thread.join()
    empty = contextvars.Context().run(log_processors.merge_contextvars, None, "info", {})
    # Then neither sees this thread's context
    assert seen == {} and empty == {}
    assert log_processors.merge_contextvars(None, "info", {}) == {"event_id": "here"}
    structlog.contextvars.clear_contextvars()


def _iso(ns: int) -> str:
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
    when = epoch + datetime.timedelta(microseconds=ns // 1000)
    return when.isoformat().replace("+00:00", "Z")


def test_the_timestamp_is_timestampers_text(monkeypatch):
    # Given clock readings in one second and the next, one on a whole second
    readings = [1_764_640_000_123_456_789, 1_764_640_000_999_999_999, 1_764_640_001_000_000_000,
                1_764_640_001_000_001_999, 86_399_000_000_000]
    for ns in readings:
        monkeypatch.setattr(log_processors.time, "time_ns", lambda ns=ns: ns)
        # When a line is stamped, then its text is isoformat's, Z for +00:00 (no .000000)
        assert log_processors.add_timestamp(None, "info", {})["timestamp"] == _iso(ns)


def test_the_timestamp_is_now_as_timestamper_says_it():
    # Given structlog's stamper, when both stamp lines one after the other
    theirs = structlog.processors.TimeStamper(fmt="iso", utc=True)
    before = theirs(None, "info", {})["timestamp"]
    ours = log_processors.add_timestamp(None, "info", {})["timestamp"]
    after = theirs(None, "info", {})["timestamp"]
    # Then ours is between theirs (the same text, so ordered as text)
    assert before <= ours <= after and len(ours) == len(before)


def test_json_lines_are_json_dumps_lines():
    # Given a line with values JSON has no type for
    class Odd:
        def __repr__(self) -> str:
            return "<odd>"

    line = {"event": "x", "n": 1, "ids": ["a", "é"], "odd": Odd(), "nested": {"k": None}}
    # When both renderers render it, then the text is the same
    ours = JSONRenderer(serializer=log_processors.json_dumps)(None, "info", dict(line))
    assert ours == JSONRenderer()(None, "info", dict(line))
    assert json.loads(ours)["odd"] == "<odd>"
