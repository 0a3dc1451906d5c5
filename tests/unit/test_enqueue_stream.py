"""Enqueuer: streaming, batching and progress, with a recording publisher."""

from __future__ import annotations

import json

import pytest

from contract.events import InvalidEvent
from producers.enqueue import Enqueuer, parse_line
from tests.unit.events_examples import envelope


def call_line(n: int) -> bytes:
    data = {"callid": f"c-{n}", "direction": "outbound", "state": "completed"}
    return json.dumps(envelope("call.ended", data, id=f"e-{n}")).encode()


class RecordingPublisher:
    """Publishes nothing; remembers each batch and how many lines had been read by then."""

    def __init__(self, batch_size: int, lines_read: list[int]) -> None:
        self.batch_size = batch_size
        self.lines_read = lines_read
        self.batches: list[tuple[int, list[str]]] = []

    def publish(self, events):
        ids = [e["id"] for e in events]
        self.batches.append((self.lines_read[0], ids))

        class Result:
            queued, repeats = len(ids), 0

        return Result()


def test_lines_are_streamed_and_published_batch_by_batch():
    # Given a lazy source of 25 lines and batches of 10
    lines_read = [0]

    def source():
        for n in range(25):
            lines_read[0] += 1
            yield call_line(n)

    publisher = RecordingPublisher(10, lines_read)
    # When they are enqueued
    summary = Enqueuer(publisher, on_invalid=lambda *_: None).run(source())
    # Then each batch went out as soon as it was full, before later lines were read
    assert [(read, len(ids)) for read, ids in publisher.batches] == [(10, 10), (20, 10), (25, 5)]
    assert (summary.lines, summary.valid, summary.queued) == (25, 25, 25)


def test_progress_is_reported_every_n_lines():
    # Given 7 lines and progress every 3
    seen = []
    publisher = RecordingPublisher(100, [0])
    enqueuer = Enqueuer(publisher, on_invalid=lambda *_: None,
                        on_progress=lambda s: seen.append(s.lines), progress_every_lines=3)
    # When they are enqueued
    enqueuer.run(call_line(n) for n in range(7))
    # Then progress was reported at lines 3 and 6
    assert seen == [3, 6]


def test_invalid_lines_are_reported_with_their_numbers_and_never_published():
    # Given a blank line, a JSON array and a valid event
    invalid = []
    publisher = RecordingPublisher(100, [0])
    lines = [b"   \n", b"[1]\n", call_line(1)]
    # When they are enqueued
    summary = Enqueuer(publisher, on_invalid=lambda n, r: invalid.append((n, r))).run(lines)
    # Then only line 2 is invalid, and only the event is published
    assert invalid == [(2, "event: must be a JSON object, got list")]
    assert publisher.batches[0][1] == ["e-1"]
    assert (summary.invalid, summary.queued) == (1, 1)


def test_parse_line_accepts_text_and_a_byte_order_mark_on_line_one():
    # Given a first line with a UTF-8 byte order mark
    publisher = RecordingPublisher(100, [0])
    # When it is enqueued
    summary = Enqueuer(publisher, on_invalid=lambda *_: None).run([b"\xef\xbb\xbf" + call_line(1)])
    # Then it is valid, and str lines parse as well
    assert summary.valid == 1
    assert parse_line(call_line(2).decode())["id"] == "e-2"


def test_parse_line_names_the_json_error():
    # Given a truncated line
    # When it is parsed
    with pytest.raises(InvalidEvent) as caught:
        parse_line(b'{"id": "x", ')
    # Then the reason says it is not JSON, and where
    reason = caught.value.reason
    assert reason.startswith("not valid JSON: Expecting property name") and "column" in reason
