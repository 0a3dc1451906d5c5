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
    got = answer(pair, b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\nX-A: 1\r\n\r\nbody")
    assert got == (201, "Created", [("Content-Length", "4"), ("X-A", "1")], b"body")
    assert pair[0].reusable


def test_the_next_answer_is_read_on_the_kept_connection(pair):
    answer(pair, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    raw = b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nno\r\n0\r\n\r\n"
    assert answer(pair, raw) == (404, "Not Found", [("Transfer-Encoding", "chunked")], b"no")
    assert pair[0].reusable


def test_bytes_after_the_answer_make_the_connection_unusable(pair):
    """(Unasked bytes would otherwise be read as the next request's answer.)"""
    got = answer(pair, b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\nbodyNEXT")
    assert got[3] == b"body" and not pair[0].reusable
    with pytest.raises(RuntimeError):
        pair[0].exchange(GET)


class Trickle:
    """A socket whose answer arrives ``size`` bytes per read."""

    def __init__(self, raw: bytes, size: int = 1) -> None:
        self.raw, self.size = raw, size

    def sendall(self, data: bytes) -> None:
        pass

    def recv_into(self, buffer: bytearray) -> int:
        part, self.raw = self.raw[:self.size], self.raw[self.size:]
        buffer[:len(part)] = part
        return len(part)


def test_a_head_without_end_is_refused_before_it_is_all_read():
    source = Trickle(b"HTTP/1.1 200 OK\r\nX: " + b"y" * 8_000_000, size=65_536)
    with pytest.raises(BrokenAnswer, match="head is over"):
        Connection(source).exchange(GET)  # type: ignore[arg-type]
    assert len(source.raw) > 1_000_000


def test_an_answer_read_a_byte_at_a_time():
    raw = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 Fine Thanks\r\nX-Long: "
           + b"v" * 300 + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n")
    got = Connection(Trickle(raw)).exchange(GET)  # type: ignore[arg-type]
    assert got == (200, "Fine Thanks",
                   [("X-Long", "v" * 300), ("Transfer-Encoding", "chunked")], b"abcde")


def test_chunked_with_extensions_and_trailers(pair):
    raw = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3;ext=1\r\nabc\r\n10\r\n" + b"x" * 16 + b"\r\n0\r\nTrailer: t\r\n\r\n")
    assert answer(pair, raw)[3] == b"abc" + b"x" * 16 and pair[0].reusable


def test_interim_answers_are_skipped_and_204_has_no_body(pair):
    raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nX-B: 2\r\n\r\n"
    assert answer(pair, raw) == (204, "No Content", [("X-B", "2")], b"")


def test_head_reads_no_body_despite_its_length(pair):
    assert answer(pair, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n", head=True)[3] == b""
    assert not pair[0].reusable  # (where the answer ended is not told by the parser)


def test_switching_protocols_ends_the_exchange_and_the_connection(pair):
    got = answer(pair, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n"
                       b"Connection: upgrade\r\n\r\nnot http")
    assert got[0] == 101 and got[3] == b"" and not pair[0].reusable


@pytest.mark.parametrize("raw, reusable", [
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", False),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", False),
    (b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok", True),
])
def test_whether_the_connection_stays_open(pair, raw, reusable):
    assert answer(pair, raw)[3] == b"ok" and pair[0].reusable is reusable


@pytest.mark.parametrize("head", [
    b"HTTP/1.1 200 OK\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n",  # not chunked last: to the close
])
def test_without_a_length_the_body_runs_to_the_close(pair, head):
    got = answer(pair, head + b"\r\nall of it", close=True)
    assert got[3] == b"all of it" and not pair[0].reusable


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
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",  # closed in a chunk
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n",
    # llhttp is strict where http11's own parser was lenient: obsolete line folding, a
    # header line without a colon, bare LF line ends
    b"HTTP/1.1 200 OK\r\nX-A: one\r\n  two\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nnonsense\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
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
