"""HTTP/1.1 on one open socket, as much as a GHL call needs: write a request, read its answer.

The answer is parsed by ``httptools`` (bindings to llhttp, Node.js's HTTP parser; what
uvicorn uses). Not ``http.client``: per answer it makes a new file object and parses the
headers with the ``email`` package, over half of the CPU ``clients.ghl.wire`` spent per
call (py-spy, issue 12).

llhttp frames the answer as RFC 9112 section 6 says (no body for 1xx, 204 and 304;
``Transfer-Encoding: chunked`` with its trailers, else ``Content-Length``, which must not
repeat, else to the close) and is strict: bare LF line ends, obsolete line folding,
header lines without a colon are refused. What it leaves to its caller, done here:

- Interim 1xx answers are skipped (a 101 ends the exchange: the connection is not HTTP
  any more, so it is not reused).
- An answer to HEAD ends with its headers (llhttp cannot be told; it would wait for the
  announced body). The parser is stopped there and the connection not reused, so a
  stray body byte can never be read as the next answer.
- A body that runs to the close ends at EOF: when neither ``Transfer-Encoding`` nor
  ``Content-Length`` framed it (RFC 9112 section 6.3, item 8); any other EOF before the
  answer ended is a ``BrokenAnswer``.
- The connection stays open when llhttp's ``should_keep_alive`` says so (HTTP/1.1 unless
  ``Connection: close``; HTTP/1.0 only with ``keep-alive``) and nothing follows the answer.
- Limits as ``http.client``'s: a header line at most 65,536 bytes, at most 100 of them.

Failures: ``BrokenAnswer`` for an answer that breaks HTTP (or ends early, the server
closing mid-answer included); the socket's ``OSError`` / ``TimeoutError`` pass through.
"""

from __future__ import annotations

import select
import socket

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

__all__ = ["MAX_HEADERS", "MAX_LINE", "BrokenAnswer", "Connection", "RawAnswer"]

MAX_LINE = 65_536
MAX_HEADERS = 100
# bytes an answer's head may take before it is refused: bounds what the parser holds
# while a line is still open (its limits are checked when the line ends)
_MAX_HEAD = MAX_LINE * (MAX_HEADERS + 2)
_READ_SIZE = 65_536


class BrokenAnswer(Exception):
    """The server's answer broke HTTP/1.1, or the connection closed before it ended."""


class _AnswerEnded(Exception):
    """Stops the parser: the answer ended (HEAD), or bytes follow the ended answer."""


RawAnswer = tuple[int, str, list[tuple[str, str]], bytes]  # status, reason, headers, body


class Connection:
    """One open connection (plain or TLS socket), one exchange at a time.

    It is the parser's callback object (``on_*``); one parser serves the connection's
    answers in turn, as llhttp is made to."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reusable = True
        self._buffer = bytearray(_READ_SIZE)
        self._parser: HttpResponseParser | None = HttpResponseParser(self)
        self._start(head=False)

    def close(self) -> None:
        self.reusable = False
        self._parser = None  # (the parser holds this object: no cycle left behind)
        self.sock.close()

    def dropped(self) -> bool:
        """The server closed the kept connection (EOF readable), sent something unasked,
        or TLS holds unread bytes: not to be written on. ``poll`` where there is one
        (``select`` is limited to descriptors below 1024; gevent's patching removes
        ``poll``, and its ``select`` has no such limit)."""
        pending = getattr(self.sock, "pending", None)
        if pending is not None and pending():
            return True
        make_poller = getattr(select, "poll", None)
        if make_poller is None:
            return bool(select.select([self.sock], [], [], 0)[0])
        poller = make_poller()
        poller.register(self.sock, select.POLLIN)
        return bool(poller.poll(0))

    def exchange(self, request: bytes, *, head: bool = False) -> RawAnswer:
        """Send ``request`` (its head and body, whole) and read the answer."""
        parser = self._parser
        if parser is None or not self.reusable:
            raise RuntimeError("an exchange on a connection that is not reusable")
        self._start(head=head)
        try:
            self.sock.sendall(request)
            buffer, view = self._buffer, memoryview(self._buffer)
            while not self._ended:
                size = self.sock.recv_into(buffer)
                if not size:
                    self._at_eof()
                    break
                self._feed(parser, view[:size])
        except BaseException:
            self.reusable = False  # the parser stopped mid-answer
            raise
        reason = b"".join(self._reason).decode("latin-1")
        return self._status, reason, self._headers, b"".join(self._body)

    def _start(self, *, head: bool) -> None:
        self._head = head
        self._status = 0
        self._reason: list[bytes] = []
        self._headers: list[tuple[str, str]] = []
        self._headers_ended = False
        self._body: list[bytes] = []
        self._ended = False
        self._head_size = 0

    def _feed(self, parser: HttpResponseParser, data: memoryview) -> None:
        if not self._headers_ended:
            self._head_size += len(data)
            if self._head_size > _MAX_HEAD:
                raise BrokenAnswer(f"an answer's head is over {_MAX_HEAD:,} bytes")
        try:
            parser.feed_data(data)
        except HttpParserUpgrade:  # after a 101: what follows is not HTTP
            self._ended, self.reusable = True, False
        except HttpParserError as exc:
            if self._ended:  # the HEAD answer's end, or bytes after the answer
                self.reusable = False
                return
            if isinstance(exc.__context__, BrokenAnswer):
                raise exc.__context__ from None
            raise BrokenAnswer(f"the answer breaks HTTP/1.1: {exc}") from None

    def _at_eof(self) -> None:
        """The server closed: the end of a body framed by the close, else too early."""
        if not self._headers_ended:
            if self._head_size:
                raise BrokenAnswer("the connection closed within the answer's head")
            raise BrokenAnswer("the server closed the connection without answering")
        if not self._framed_by_length():
            self._ended, self.reusable = True, False
            return
        raise BrokenAnswer(f"the connection closed within the answer's body "
                           f"(after {sum(map(len, self._body))} bytes)")

    def _framed_by_length(self) -> bool:
        """``Transfer-Encoding`` or ``Content-Length`` says where the body ends."""
        codings = [value for name, value in self._headers
                   if name.lower() == "transfer-encoding"]
        if codings:  # chunked must be the last coding, else the close ends the body
            return ",".join(codings).rsplit(",", 1)[-1].strip().lower() == "chunked"
        return any(name.lower() == "content-length" for name, _ in self._headers)

    # the parser's callbacks (httptools calls them from ``feed_data``)

    def on_message_begin(self) -> None:
        if self._ended:
            raise _AnswerEnded  # something follows the answer: an unasked answer?

    def on_status(self, reason: bytes) -> None:
        self._reason.append(reason)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._headers_ended:
            return  # a chunked body's trailer: skipped
        if len(name) + len(value) + 2 > MAX_LINE:
            raise BrokenAnswer(f"an answer's header line is over {MAX_LINE:,} bytes")
        if len(self._headers) == MAX_HEADERS:
            raise BrokenAnswer(f"an answer with over {MAX_HEADERS} header lines")
        self._headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        assert self._parser is not None
        self._status = self._parser.get_status_code()
        self._headers_ended = True
        if self._head and not 100 <= self._status < 200:
            self._ended, self.reusable = True, False
            raise _AnswerEnded

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        assert self._parser is not None
        if 100 <= self._status < 200 and self._status != 101:
            self._start(head=self._head)  # an interim answer: the real one follows
            return
        self._ended = True
        self.reusable = self._parser.should_keep_alive()
