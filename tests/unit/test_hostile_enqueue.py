"""Hostile lines to ``toky-ghl enqueue`` and hostile events to the schemas: each bad line is
reported naming what is wrong and the run goes on to the next line; what validation
accepts is canonical (validating it again changes nothing) and readable by the worker,
with ids fit for a URL path. Named cases from issue 10, then hypothesis."""

from __future__ import annotations

import json

import fakeredis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.main import main
from contract.events import EVENT_TYPES, InvalidEvent, object_key, validate_event
from contract.ids import is_ghl_id, is_toky_id
from producers.enqueue import Enqueuer
from producers.queue import EventPublisher
from tests.unit.events_examples import SAMPLES
from worker.versions import occurred_at_us

SAMPLE_LINES = SAMPLES.read_text().splitlines()
CALL = json.loads(SAMPLE_LINES[3])
assert CALL["type"] == "call.ended"


def _with(**changes) -> dict:
    event = json.loads(json.dumps(CALL))
    for path, value in changes.items():
        target = event
        *parents, last = path.split("__")
        for name in parents:
            target = target[name]
        target[last] = value
    return event


HOSTILE_LINES = {
    "deep nesting": '{"id": "x", "data": ' + "[" * 50_000 + "]" * 50_000 + "}",
    "1e999": json.dumps(_with(data__duration=1)).replace('"duration": 1', '"duration": 1e999'),
    "400 digits": json.dumps(_with(data__duration=1)).replace('"duration": 1',
                                                              '"duration": ' + "9" * 400),
    "NaN": json.dumps(_with(data__duration=1)).replace('"duration": 1', '"duration": NaN'),
    "year 1": json.dumps(_with(occurred_at="0001-01-01T00:00:00+01:00")),
    "dot-dot callid": json.dumps(_with(data__callid="..")),
    "not UTF-8": b"\xff\xfe{}",
    "array": "[1]",
    "string": '"event"',
    "null": "null",
}


@pytest.mark.parametrize("name", HOSTILE_LINES)
def test_dry_run_reports_each_hostile_line_and_goes_on_to_the_next(name, tmp_path, capsys):
    # Given a hostile line between two valid ones
    raw = HOSTILE_LINES[name]
    path = tmp_path / "events.ndjson"
    path.write_bytes(b"\n".join([SAMPLE_LINES[0].encode(),
                                 raw if isinstance(raw, bytes) else raw.encode(),
                                 SAMPLE_LINES[1].encode()]) + b"\n")
    # When checked with --dry-run
    code = main(["enqueue", "--dry-run", str(path)])
    # Then line 2 is reported, and line 3 was still read
    out, err = capsys.readouterr()
    assert code == 1
    assert err.startswith("line 2: ") and "line 3" not in err
    assert out.strip() == "valid 2, invalid 1 (dry run: nothing queued)"


def test_occurred_at_with_blanks_is_stored_canonical_for_the_worker():
    # Given an event whose occurred_at has surrounding blanks (it used to pass as is, then
    # fail in the worker on every delivery)
    event = validate_event(_with(occurred_at="  2026-11-02T10:00:00Z\n"))
    # Then it is stored stripped, and the worker reads it
    assert event["occurred_at"] == "2026-11-02T10:00:00Z"
    assert occurred_at_us(event["occurred_at"]) == occurred_at_us("2026-11-02T10:00:00Z")


@pytest.mark.parametrize("bad_id", ["..", ".", "", "a/b", "x" * 65, "ve9EP?x=1"])
def test_a_mirrored_ghl_id_outside_ghls_character_set_is_refused(bad_id):
    event = {"id": "ghl-contact-x-1", "type": "ghl.contact.updated",
             "occurred_at": "2026-11-02T10:00:00Z", "data": {"id": bad_id}}
    with pytest.raises(InvalidEvent, match=r"data\.id"):
        validate_event(event)


# -- generated events ------------------------------------------------------------------

_scalars = (st.none() | st.booleans() | st.integers(min_value=-10**400, max_value=10**400)
            | st.floats() | st.text(max_size=30)
            | st.sampled_from(["", " ", ".", "..", "a/b", "1e999", "+14155550134",
                               " 2026-11-02T10:00:00Z ", "2026-11-02 10:00:00",
                               "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00",
                               "inbound", "completed", "true", "US", "ve9EPM428h8vShlRW1KT"]))
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=10)
_DATA_FIELDS = ["phone", "callid", "id", "task_id", "note_id", "appointment_id", "direction",
                "state", "from_number", "to_number", "duration", "date", "due_date", "start",
                "end", "text", "body", "tags", "completed", "country_code", "email"]
_BASE_DATA = {"phone": "+14155550134", "callid": "c-1", "id": "ve9EPM428h8vShlRW1KT",
              "task_id": "t-1", "note_id": "n-1", "appointment_id": "a-1",
              "direction": "inbound", "state": "completed", "from_number": "+14155550134",
              "to_number": "+14155550100", "text": "hi", "body": "b", "tags": ["x"],
              "start": "2026-11-02T10:00:00Z"}
_times = st.sampled_from(["2026-11-02T10:00:00Z", " 2026-11-02T10:00:00+02:00 ",
                          "\t2026-11-02T10:00:00Z\n", "2026-11-02T10:00:00",
                          "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"])
#: Events close to valid (a known type, a data object with every usual field, a few
#: generated values), so that most examples reach the checks of each field.
_near_valid = st.fixed_dictionaries({
    "id": st.sampled_from(["evt-1", "contact-+14155550134-3"]) | st.text(max_size=20),
    "type": st.sampled_from(EVENT_TYPES),
    "occurred_at": _times | _times | _scalars,
    "data": st.dictionaries(st.sampled_from(_DATA_FIELDS), _json, max_size=3).map(
        lambda d: {**_BASE_DATA, **d}),
})
_events = _near_valid | st.fixed_dictionaries(
    {"id": _scalars, "type": _scalars, "occurred_at": _scalars, "data": _json}) | _json

_FUZZ = settings(max_examples=300, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_FUZZ
@given(candidate=_events)
def test_validation_refuses_with_invalid_event_or_accepts_a_canonical_event(candidate):
    # Given any JSON-like event / When validated
    try:
        event = validate_event(candidate)
    except InvalidEvent as exc:
        # Then a refusal names a field, in a bounded message
        assert ":" in exc.reason and len(exc.reason) < 10_000
        return
    # Or it is canonical: validating again changes nothing (the worker does)
    assert validate_event(event) == event
    # And the worker reads its time, and its ids fit a URL path
    occurred_at_us(event["occurred_at"])
    kind, _, object_id = object_key(event).partition(":")
    if kind == "ghl.contact":
        assert is_ghl_id(object_id)
    elif kind != "contact":
        assert is_toky_id(object_id)
    json.dumps(event, allow_nan=False)  # JSON as the queue and GHL need it


@_FUZZ
@given(lines=st.lists(st.binary(max_size=80) | _events.map(json.dumps).map(str.encode)
                      | st.sampled_from([v if isinstance(v, bytes) else v.encode()
                                         for v in HOSTILE_LINES.values()]),
                      max_size=6))
def test_enqueue_reads_every_line_and_queues_only_valid_events(lines):
    # Given any lines (generated bytes, events, the hostile cases)
    client = fakeredis.FakeRedis()
    reported: list[int] = []
    enqueuer = Enqueuer(EventPublisher(client, key_prefix="t"),
                        on_invalid=lambda number, _reason: reported.append(number))
    lines = [line.replace(b"\n", b" ") for line in lines]
    # When enqueued
    summary = enqueuer.run(iter(lines))
    # Then every non-blank line was valid or reported, and the run reached the end
    nonblank = [i for i, line in enumerate(lines, start=1)
                if line.removeprefix(b"\xef\xbb\xbf" if i == 1 else b"").strip()]
    assert summary.valid + summary.invalid == len(nonblank)
    assert set(reported) <= set(nonblank) and len(reported) == summary.invalid
