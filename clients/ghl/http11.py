"""HTTP/1.1 on one open socket, as much as a GHL call needs: write a request, read its answer.

Why not ``http.client``: per answer it makes a new file object and parses the headers
with the ``email`` package, over half of the CPU ``clients.ghl.wire`` spent per call
(py-spy, issue 12). Here the socket's one buffered reader serves every answer and a
header line is split at its colon.

The answer's framing follows RFC 9112 section 6: no body for HEAD, 1xx, 204 and 304;
else ``Transfer-Encoding: chunked`` (trailers skipped), else ``Content-Length`` (several
values must agree), else the body runs to the connection's close. Interim 1xx answers
are skipped. The connection stays open after an HTTP/1.1 answer unless it says
``Connection: close``; after HTTP/1.0 only with ``keep-alive``. Limits as
``http.client``'s: a line at most 65,536 bytes, at most 100 header lines.

Failures: ``BrokenAnswer`` for an answer that breaks HTTP (or ends early, the server
closing mid-answer included); the socket's ``OSError`` / ``TimeoutError`` pass through.
"""

from __future__ import annotations

import select
import socket

__all__ = ["MAX_HEADERS", "MAX_LINE", "BrokenAnswer", "Connection", "RawAnswer"]

MAX_LINE = 65_536
MAX_HEADERS = 100
_NO_BODY_STATUSES = frozenset({204, 304})


class BrokenAnswer(Exception):
    """The server's answer broke HTTP/1.1, or the connection closed before it ended."""


RawAnswer = tuple[int, str, list[tuple[str, str]], bytes]  # status, reason, headers, body


class Connection:
    """One open connection (plain or TLS socket), one exchange at a time."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._reader = sock.makefile("rb")
        self.reusable = True

    def close(self) -> None:
        self.reusable = False
        self._reader.close()
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
        self.sock.sendall(request)
        while True:
            version, status, reason = self._status_line()
            headers = self._headers()
            if not 100 <= status < 200 or status == 101:
                break
        connection = ",".join(v for k, v in headers if k.lower() == "connection").lower()
        if version == "HTTP/1.1":
            self.reusable = "close" not in connection
        else:
            self.reusable = "keep-alive" in connection
        if head or 100 <= status < 200 or status in _NO_BODY_STATUSES:
            return status, reason, headers, b""
        return status, reason, headers, self._body(headers)

    def _line(self) -> bytes:
        line = self._reader.readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise BrokenAnswer("an answer's line is over 65,536 bytes")
        return line

    def _status_line(self) -> tuple[str, int, str]:
        line = self._line()
        if not line:
            raise BrokenAnswer("the server closed the connection without answering")
        parts = line.decode("latin-1").rstrip("\r\n").split(None, 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not (
                len(parts[1]) == 3 and parts[1].isdigit()):
            raise BrokenAnswer(f"not an HTTP/1.x status line: {line[:40]!r}")
        return parts[0], int(parts[1]), parts[2] if len(parts) > 2 else ""

    def _headers(self) -> list[tuple[str, str]]:
        headers: list[tuple[str, str]] = []
        for _ in range(MAX_HEADERS + 1):
            line = self._line()
            if line in (b"\r\n", b"\n"):
                return headers
            if not line:
                raise BrokenAnswer("the connection closed within the answer's headers")
            text = line.decode("latin-1").rstrip("\r\n")
            if text[:1] in (" ", "\t") and headers:  # obsolete line folding: a continuation
                name, value = headers[-1]
                headers[-1] = (name, f"{value} {text.strip()}")
                continue
            name, colon, value = text.partition(":")
            if colon and name and name == name.strip():
                headers.append((name, value.strip()))
        raise BrokenAnswer(f"an answer with over {MAX_HEADERS} header lines")

    def _body(self, headers: list[tuple[str, str]]) -> bytes:
        codings = [v for k, v in headers if k.lower() == "transfer-encoding"]
        if codings:
            if ",".join(codings).rsplit(",", 1)[-1].strip().lower() != "chunked":
                self.reusable = False  # framed by the close (RFC 9112 section 6.3)
                return self._reader.read()
            return self._chunked()
        lengths = {v.strip() for k, value in headers if k.lower() == "content-length"
                   for v in value.split(",")}
        if not lengths:
            self.reusable = False
            return self._reader.read()
        if len(lengths) > 1 or not lengths.copy().pop().isdigit():
            raise BrokenAnswer(f"unusable Content-Length: {sorted(lengths)!r}")
        return self._exactly(int(lengths.pop()))

    def _exactly(self, size: int) -> bytes:
        data = self._reader.read(size) if size else b""
        if len(data) < size:
            raise BrokenAnswer(f"the answer's body ended after {len(data)} of {size} bytes")
        return data

    def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            line = self._line()
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BrokenAnswer(f"not a chunk size: {line[:40]!r}") from None
            if size < 0:
                raise BrokenAnswer(f"not a chunk size: {line[:40]!r}")
            if size == 0:
                break
            parts.append(self._exactly(size))
            if self._line() not in (b"\r\n", b"\n"):
                raise BrokenAnswer("a chunk does not end with CRLF")
        for _ in range(MAX_HEADERS + 1):  # the trailer section, up to its empty line
            line = self._line()
            if line in (b"\r\n", b"\n"):
                return b"".join(parts)
            if not line:
                raise BrokenAnswer("the connection closed within the answer's trailers")
        raise BrokenAnswer(f"an answer with over {MAX_HEADERS} trailer lines")
