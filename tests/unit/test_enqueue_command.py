"""``toky-ghl enqueue`` end to end in-process, with fakeredis as the broker."""

from __future__ import annotations

import base64
import io
import json
import sys

import fakeredis
import pytest

from cli.main import main
from tests.unit.events_examples import SAMPLES
from toky_ghl.keys import queue_key

#: The events queue's Redis list for the default prefix (TOKY_GHL_KEY_PREFIX unset).
QUEUE = queue_key("tokyghl")

SAMPLE_LINES = SAMPLES.read_text().splitlines()


@pytest.fixture
def fake_server():
    return fakeredis.FakeServer()


@pytest.fixture
def broker(monkeypatch, fake_server):
    """A fakeredis broker that the command gets from ``get_redis()``."""
    client = fakeredis.FakeRedis(server=fake_server)
    monkeypatch.setattr("toky_ghl.redis_conn.get_redis", lambda url=None: client)
    return client


def queued_ids(client) -> list[str]:
    messages = [json.loads(raw) for raw in reversed(client.lrange(QUEUE, 0, -1))]
    return [json.loads(base64.b64decode(m["body"]))[0][0]["id"] for m in messages]


def write(tmp_path, lines: list[str], name="events.ndjson"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_valid_lines_are_queued_and_invalid_ones_reported_by_line(broker, tmp_path, capsys):
    # Given a file of the samples with a non-JSON line 3, a bad phone on line 6 and a blank line
    bad_phone = json.loads(SAMPLE_LINES[1])
    bad_phone["id"], bad_phone["data"]["phone"] = "bad-1", "(415) 555-01"
    bad_phone["data"]["country_code"] = "US"
    lines = [*SAMPLE_LINES[:2], "{not json", *SAMPLE_LINES[2:4], json.dumps(bad_phone), "",
             *SAMPLE_LINES[4:]]
    # When it is enqueued
    status = main(["enqueue", write(tmp_path, lines)])
    # Then each invalid line is reported with its number and the field, and never queued
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "line 3: not valid JSON: Expecting property name enclosed in double quotes at column 2",
        "line 6: data.phone: not a valid phone number '(415) 555-01' for region US",
    ]
    assert out == "queued 12, repeats 0, invalid 2\n"
    assert status == 1
    assert queued_ids(broker) == [json.loads(line)["id"] for line in SAMPLE_LINES]


def test_all_valid_exits_zero_and_a_second_run_counts_repeats(broker, tmp_path, capsys):
    # Given a file of valid events, enqueued once
    path = write(tmp_path, SAMPLE_LINES)
    first = main(["enqueue", path])
    # When it is enqueued again
    second = main(["enqueue", path])
    # Then the second run queues nothing new and says so, with status 0
    out = capsys.readouterr().out.splitlines()
    assert (first, second) == (0, 0)
    assert out == ["queued 12, repeats 0, invalid 0", "queued 0, repeats 12, invalid 0"]
    assert broker.llen(QUEUE) == 12


@pytest.mark.parametrize("argv", [["enqueue"], ["enqueue", "-"]])
def test_reads_standard_input(broker, monkeypatch, capsys, argv):
    # Given events on standard input
    data = ("\n".join(SAMPLE_LINES[:3]) + "\n").encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    # When enqueue runs without a file (or with '-')
    status = main(argv)
    # Then they are queued
    assert capsys.readouterr().out == "queued 3, repeats 0, invalid 0\n"
    assert status == 0 and broker.llen(QUEUE) == 3


def test_missing_file_is_a_usage_error_naming_it(broker, tmp_path, capsys):
    # Given a path with no file
    path = str(tmp_path / "nope.ndjson")
    # When enqueue is asked to read it
    status = main(["enqueue", path])
    # Then it exits 2 with a message naming the file, and queues nothing
    err = capsys.readouterr().err
    assert status == 2
    assert path in err and "No such file" in err
    assert broker.llen(QUEUE) == 0


def test_dry_run_validates_without_redis(monkeypatch, tmp_path, capsys):
    # Given no Redis at all, and a file with one invalid line
    def no_redis(url=None):
        raise AssertionError("a dry run must not touch Redis")

    monkeypatch.setattr("toky_ghl.redis_conn.get_redis", no_redis)
    path = write(tmp_path, [*SAMPLE_LINES[:2], '{"id": "x"}'])
    # When enqueue runs with --dry-run
    status = main(["enqueue", "--dry-run", path])
    # Then it reports and counts, queues nothing, and still exits 1
    out, err = capsys.readouterr()
    assert out == "valid 2, invalid 1 (dry run: nothing queued)\n"
    assert err.startswith("line 3: type: required field is missing")
    assert status == 1


def test_progress_line_every_10000_lines(broker, tmp_path, capsys):
    # Given a file of 20,001 lines: mostly blank, one event at the end
    path = write(tmp_path, [""] * 20_000 + [SAMPLE_LINES[0]])
    # When it is enqueued
    status = main(["enqueue", path])
    # Then stderr has a progress line at 10,000 and 20,000 lines
    out, err = capsys.readouterr()
    assert [line.split(";")[0] for line in err.splitlines()] == [
        "enqueue: 10000 lines read", "enqueue: 20000 lines read"]
    assert out == "queued 1, repeats 0, invalid 0\n" and status == 0


def test_bad_bytes_and_non_finite_numbers_are_invalid_lines(broker, tmp_path, capsys):
    # Given a line of invalid UTF-8 and a line with NaN
    path = tmp_path / "odd.ndjson"
    nan_line = SAMPLE_LINES[3].replace('"duration": 184', '"duration": NaN')
    path.write_bytes(b"\xff\xfe{}\n" + nan_line.encode() + b"\n")
    # When it is enqueued
    status = main(["enqueue", str(path)])
    # Then both are reported, by line, and nothing is queued
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("line 1: not valid UTF-8")
    assert err[1] == "line 2: not valid JSON: NaN is not allowed"
    assert status == 1 and broker.llen(QUEUE) == 0


def test_unreachable_redis_exits_2_before_reading(broker, fake_server, tmp_path, capsys):
    # Given a broker that does not answer
    fake_server.connected = False
    # When enqueue runs
    status = main(["enqueue", write(tmp_path, SAMPLE_LINES)])
    # Then it says Redis cannot be reached and exits 2
    assert status == 2
    assert "cannot reach Redis" in capsys.readouterr().err


def test_help_explains_the_exit_status(capsys):
    # Given the CLI
    # When enqueue --help is asked for
    with pytest.raises(SystemExit) as caught:
        main(["enqueue", "--help"])
    # Then it exits 0 and documents input, output and exit status
    out = capsys.readouterr().out
    assert caught.value.code == 0
    assert "FILE|-" in out and "exit status" in out and "--dry-run" in out
