"""GHL's HTTP exchanges on one kept-alive connection per thread (``clients.ghl.http11``).

Why: through ``requests`` a GHL call spent ~22% of a worker's CPU in the HTTP stack
(py-spy under ``bench/pipeline.py``, issue 12), most of it in layers a GHL call does not
use: ``PreparedRequest``, the adapter's pool look-up and proxy selection, urllib3's
pool queue, header copies and response wrappers, the streamed body. ``WireSender`` sends
the same request on the thread's own connection (a thread sends one request at a time,
so no pool and no lock; ``clients.ghl.http11`` reads the answer) and answers a small
``WireAnswer``.

What it keeps of requests + urllib3 (``GhlTransport``'s session path), and how:

- The request: the same method, URL (query encoded as requests encodes it), body
  (``json.dumps(allow_nan=False)``) and headers (requests' default User-Agent,
  ``Accept-Encoding: gzip, deflate``, whose answers are decoded here).
- Keep-alive safety: before a kept connection is reused, it is checked for a close
  (or stray bytes) from the server (readable socket: urllib3's ``is_connection_dropped``)
  and replaced; a POST is never written on a connection known dead, and never re-sent.
- Timeouts: ``connect_timeout_s`` for TCP connect and the TLS handshake,
  ``read_timeout_s`` for every later socket operation (as urllib3's ``Timeout``).
- TLS: the CA bundle of ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE``, else certifi's
  (requests' default), host names checked, TLS 1.2 at least.
- Errors are requests' own exception classes, so ``error_from_exception`` classifies
  them exactly as on the session path: before the request left (DNS, refused, connect
  timeout, handshake) ``ConnectionError(NewConnectionError)``, ``ConnectTimeout`` or
  ``SSLError``: not sent; anything after the connection was open (reset, close before
  the answer, read timeout, a broken body) ``ConnectionError(ProtocolError)`` or
  ``ReadTimeout``: the request may have arrived (the lost-answer path). One deliberate
  difference: a TLS error after the handshake (a corrupt record mid-answer) is "may
  have arrived" here, where urllib3 calls every TLS error ``SSLError`` (not sent), which
  could send a write twice. A header value with a line break (``InvalidHeader``, naming
  no value: it may be the token) and NaN in a body (``InvalidJSONError``) are refused
  before connecting, with requests' classes.
- No redirects followed (a 3xx is answered as is: an error for GHL), no cookies.

Not kept: proxies. ``GhlTransport`` uses this only when no proxy applies to its base URL
(``proxy_applies``); with one it stays on requests.
"""

from __future__ import annotations

import json as jsonlib
import os
import re
import socket
import ssl
import threading
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import certifi
import requests
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import NewConnectionError, ProtocolError

from clients.ghl.http11 import BrokenAnswer, Connection
from clients.http_policy import ca_bundle_from_env

__all__ = ["WireAnswer", "WireSender", "proxy_applies"]

#: Headers requests sends by default (``requests.utils.default_headers``), less the
#: encodings this module does not decode (brotli, zstd when installed).
_DEFAULT_HEADERS = {
    "User-Agent": requests.utils.default_user_agent(),
    "Accept-Encoding": "gzip, deflate",
    "Accept": "*/*",
    "Connection": "keep-alive",
}
#: A request target needing requests' re-quoting (``requote_uri``): any character
#: outside RFC 3986's unreserved, reserved and ``%``.
_NEEDS_QUOTING = re.compile(r"[^A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]")
#: requests' rule for header names and values (``requests.utils.check_header_validity``).
_VALID_NAME = re.compile(r"^[^:\s][^:\r\n]*$")
_VALID_VALUE = re.compile(r"^\S[^\r\n]*$|^$")


def proxy_applies(base_url: str) -> bool:
    """True when the environment's proxy variables send ``base_url`` through a proxy
    (``HTTP(S)_PROXY``, ``ALL_PROXY``, not bypassed by ``NO_PROXY``), as requests reads
    them (``pooled_session``)."""
    proxies = requests.utils.get_environ_proxies(base_url)
    return bool(requests.utils.select_proxy(base_url, proxies))


class WireAnswer:
    """An HTTP answer, its body read and decoded: what ``GhlTransport`` and
    ``error_from_response`` read of a ``requests.Response``."""

    __slots__ = ("content", "headers", "reason", "status_code")

    def __init__(self, status_code: int, reason: str, headers: CaseInsensitiveDict[str],
                 content: bytes) -> None:
        self.status_code = status_code
        self.reason = reason
        self.headers = headers
        self.content = content

    def json(self) -> Any:
        """The body parsed as JSON (UTF-8/16/32 detected); ValueError when it is not."""
        return jsonlib.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


def _query(params: Mapping[str, Any] | None) -> str:
    """``params`` as requests encodes them: None values dropped, a list gives one pair
    per item, ``quote_plus`` escaping."""
    if not params:
        return ""
    pairs: list[tuple[str, Any]] = []
    for key, value in params.items():
        values = value if isinstance(value, list | tuple) else (value,)
        pairs.extend((key, item) for item in values if item is not None)
    return urlencode(pairs)


def _tls_context() -> ssl.SSLContext:
    bundle = ca_bundle_from_env() or certifi.where()
    if os.path.isdir(bundle):
        context = ssl.create_default_context(capath=bundle)
    else:
        context = ssl.create_default_context(cafile=bundle)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    return context


def _decoded(body: bytes, encoding: str | None) -> bytes:
    """The body without its ``Content-Encoding`` (gzip, deflate: what we accept)."""
    coding = (encoding or "").strip().lower()
    if not body or coding in ("", "identity"):
        return body
    try:
        if coding == "gzip":
            return zlib.decompress(body, 16 + zlib.MAX_WBITS)
        if coding == "deflate":  # zlib-wrapped per RFC 9110; some servers send it raw
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
    except zlib.error as exc:
        raise requests.exceptions.ContentDecodingError(
            f"the answer's {coding} body does not decode") from exc
    return body  # an encoding we did not ask for: left as is (the JSON parse fails)


class _ThreadConnection(threading.local):
    connection: Connection | None = None


class WireSender:
    """Sends requests to ``base_url``'s host, one kept-alive connection per thread.

    ``send`` raises requests' exceptions (module docstring); answers of any status are
    returned, never raised."""

    def __init__(self, base_url: str, *, connect_timeout_s: float,
                 read_timeout_s: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.host = parts.hostname
        self.https = parts.scheme == "https"
        self.port = parts.port or (443 if self.https else 80)
        self._host_header = _host_header(self.host, parts.port, self.https)
        self._prefix = parts.path.rstrip("/")
        self._tls = _tls_context() if self.https else None
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._local = _ThreadConnection()

    def send(self, method: str, path: str, headers: Mapping[str, str],
             params: Mapping[str, Any] | None, json: Any) -> WireAnswer:
        """One exchange: ``method`` on ``path`` (under the base URL's path) with
        ``params`` as the query, ``json`` as the body (None: no body); ``headers``
        over the defaults."""
        request = self._request(method, path, headers, params, json)
        connection = self._connection()
        try:
            status, reason, raw_headers, content = connection.exchange(
                request, head=method == "HEAD")
        except TimeoutError as exc:
            self._drop(connection)
            raise requests.exceptions.ReadTimeout(
                f"no answer within {self._read_timeout_s} s") from exc
        except (OSError, BrokenAnswer) as exc:
            self._drop(connection)
            raise requests.exceptions.ConnectionError(
                ProtocolError("Connection aborted.", exc)) from exc
        except BaseException:
            self._drop(connection)
            raise
        if not connection.reusable:
            self._drop(connection)
        answer_headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(_joined(raw_headers))
        content = _decoded(content, answer_headers.get("Content-Encoding"))
        return WireAnswer(status, reason, answer_headers, content)

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        connection = self._local.connection
        if connection is not None:
            self._drop(connection)

    def _request(self, method: str, path: str, headers: Mapping[str, str],
                 params: Mapping[str, Any] | None, json: Any) -> bytes:
        """The request's bytes, head and body; raises requests' ``InvalidHeader`` (naming
        no value: it may be the token) and ``InvalidJSONError`` as requests would."""
        target = self._prefix + path
        query = _query(params)
        if query:
            target = f"{target}?{query}"
        if _NEEDS_QUOTING.search(target):
            target = requests.utils.requote_uri(target)
        sent = {**_DEFAULT_HEADERS, **headers}
        body = b""
        if json is not None:
            try:
                body = jsonlib.dumps(json, allow_nan=False).encode("utf-8")
            except ValueError as exc:  # NaN or infinity: requests refuses them too
                raise requests.exceptions.InvalidJSONError(exc) from exc
            sent["Content-Type"] = "application/json"
        if json is not None or method not in ("GET", "HEAD"):
            sent["Content-Length"] = str(len(body))
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self._host_header}"]
        for name, value in sent.items():
            if not (_VALID_NAME.match(name) and _VALID_VALUE.match(value)):
                raise requests.exceptions.InvalidHeader(
                    f"header {name!r}: leading whitespace or a line break in its value")
            lines.append(f"{name}: {value}")
        lines.append("\r\n")
        return "\r\n".join(lines).encode("latin-1") + body

    def _connection(self) -> Connection:
        """The thread's open connection; a new one when there is none or the server
        dropped the kept one. Failing here, nothing was sent."""
        connection = self._local.connection
        if connection is not None:
            if not connection.dropped():
                return connection
            self._drop(connection)
        connection = self._open()
        self._local.connection = connection
        return connection

    def _drop(self, connection: Connection) -> None:
        connection.close()
        if self._local.connection is connection:
            self._local.connection = None

    def _open(self) -> Connection:
        where = f"{self.host}:{self.port}"
        sock: socket.socket | None = None
        try:
            sock = socket.create_connection((self.host, self.port), self._connect_timeout_s)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # (as http.client)
            if self._tls is not None:  # the handshake, under the connect timeout
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except TimeoutError as exc:
            _close(sock)
            raise requests.exceptions.ConnectTimeout(
                f"connecting to {where} took over {self._connect_timeout_s} s") from exc
        except (ssl.SSLError, ssl.CertificateError) as exc:
            _close(sock)
            raise requests.exceptions.SSLError(f"TLS with {where} failed: {exc}") from exc
        except OSError as exc:
            _close(sock)
            raise requests.exceptions.ConnectionError(NewConnectionError(
                None, f"cannot connect to {where}: {exc}")) from exc  # type: ignore[arg-type]
        sock.settimeout(self._read_timeout_s)
        return Connection(sock)


def _joined(headers: list[tuple[str, str]]) -> dict[str, str]:
    """Header lines as one value per name (any case), repeated names' values joined with
    ", " (as urllib3's ``HTTPHeaderDict``, which requests reads); the first spelling kept."""
    joined: dict[str, str] = {}
    spelling: dict[str, str] = {}
    for name, value in headers:
        first = spelling.setdefault(name.lower(), name)
        joined[first] = f"{joined[first]}, {value}" if first in joined else value
    return joined


def _close(sock: socket.socket | None) -> None:
    if sock is not None:
        sock.close()


def _host_header(host: str, port: int | None, https: bool) -> str:
    """The ``Host`` header as ``http.client`` writes it: IDNA, IPv6 in brackets, the port
    unless the scheme's default."""
    try:
        host.encode("ascii")
    except UnicodeEncodeError:
        host = host.encode("idna").decode("ascii")
    shown = f"[{host}]" if ":" in host else host
    return shown if port in (None, 443 if https else 80) else f"{shown}:{port}"
