"""``clients.ghl.http11``: the answer's framing, read from canned bytes on a socket pair."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from clients.ghl.http11 import MAX_HEADERS, BrokenAnswer, Connection

GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture
def pair() -> Iterator[tuple[Connection, socket.socket]]:
    ours, theirs = socket.socketpair()
    ours.settimeout(5)
    connection = Connection(ours)
    yield connection, theirs
    connection.close()
    theirs.close()


def answer(pair: tuple[Connection, socket.socket], raw: bytes, *, close: bool = False,
           head: bool = False) -> tuple[int, str, list[tuple[str, str]], bytes]:
    """Given the server's ``raw`` bytes (then its close), when the client exchanges."""
    connection, theirs = pair
    theirs.sendall(raw)
    if close:
        theirs.shutdown(socket.SHUT_WR)
    got = connection.exchange(GET, head=head)
    assert theirs.recv(1000) == GET  # the request went out whole
    return got


def test_content_length_frames_the_body_and_keeps_the_connection(pair):
    got = answer(pair, b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\nX-A: 1\r\n\r\nbodyNEXT")
    assert got == (201, "Created", [("Content-Length", "4"), ("X-A", "1")], b"body")
    assert pair[0].reusable


def test_chunked_with_extensions_and_trailers(pair):
    raw = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3;ext=1\r\nabc\r\n10\r\n" + b"x" * 16 + b"\r\n0\r\nTrailer: t\r\n\r\n")
    assert answer(pair, raw)[3] == b"abc" + b"x" * 16 and pair[0].reusable


def test_interim_answers_are_skipped_and_204_has_no_body(pair):
    raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX-B: 2\r\n\r\n"
    assert answer(pair, raw) == (204, "No Content", [("X-B", "2")], b"")


def test_head_reads_no_body_despite_its_length(pair):
    assert answer(pair, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", head=True)[3] == b""


@pytest.mark.parametrize("raw, reusable", [
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", False),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", False),
    (b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok", True),
])
def test_whether_the_connection_stays_open(pair, raw, reusable):
    assert answer(pair, raw)[3] == b"ok" and pair[0].reusable is reusable


def test_without_a_length_the_body_runs_to_the_close(pair):
    got = answer(pair, b"HTTP/1.1 200 OK\r\n\r\nall of it", close=True)
    assert got[3] == b"all of it" and not pair[0].reusable


def test_folded_headers_join_and_lines_without_a_colon_are_skipped(pair):
    got = answer(pair, b"HTTP/1.1 200 OK\r\nX-A: one\r\n  two\r\nnonsense\r\n"
                       b"Content-Length: 0\r\n\r\n")
    assert got[2] == [("X-A", "one two"), ("Content-Length", "0")]


@pytest.mark.parametrize("raw", [
    b"",  # closed without answering
    b"SSH-2.0-OpenSSH\r\n\r\n",
    b"HTTP/1.1 2000 OK\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX: y\r\n",  # closed within the headers
    b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * (MAX_HEADERS + 1) + b"\r\n",
    b"HTTP/1.1 200 OK\r\nX: " + b"y" * 70_000 + b"\r\n\r\n",
])
def test_a_broken_answer_raises(pair, raw):
    with pytest.raises(BrokenAnswer):
        answer(pair, raw, close=True)


def test_a_server_close_is_seen_before_the_next_request(pair):
    connection, theirs = pair
    assert not connection.dropped()
    theirs.close()
    assert connection.dropped()


def test_without_poll_select_sees_the_close(pair, monkeypatch):
    connection, theirs = pair
    monkeypatch.delattr("select.poll")
    assert not connection.dropped()
    theirs.close()
    assert connection.dropped()


def test_stray_bytes_from_the_server_count_as_dropped(pair):
    connection, theirs = pair
    theirs.sendall(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
    threading.Event().wait(0.05)
    assert connection.dropped()
