"""``clients.ghl.wire`` (the worker's HTTP path) against real local HTTP servers: the GHL
simulator over waitress, and ``http.server`` for the failures a simulator does not make.

Each failure is also sent through the requests path (``wire=False``) where the two must
agree: the same error text and the same ``maybe_sent``, which the lost-answer guarantee
depends on.
"""

from __future__ import annotations

import gzip
import http.server
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from clients.ghl.client import GhlClient
from clients.ghl.errors import (
    GhlConnectionError,
    GhlError,
    GhlNotFoundError,
    GhlRateLimitedError,
    GhlServerError,
)
from simulators.ghl import GhlSim, SimConfig, create_app
from simulators.ghl.testing import ALL_SCOPES
from simulators.serve import serve_in_thread
from tests.conftest import IN_CI

TOKEN = "pit-WIRE-SECRET-0123456789"
LOC = "locWIREWIREWIREWIREW"


def client_for(url: str, *, wire: bool = True, token: Any = TOKEN, **kw: Any) -> GhlClient:
    return GhlClient(base_url=url, token=token, location_id=LOC,
                     scopes=frozenset(ALL_SCOPES), wire=wire, **kw)


def upsert_errors(url: str, phone: str, error: type[Exception] = GhlConnectionError,
                  ) -> dict[bool, Any]:
    """The error an upsert of ``phone`` to ``url`` raises on each path (``True``: the
    wire's, ``False``: requests'); ``error`` is the class each must raise."""
    errors = {}
    for wire in (True, False):
        with pytest.raises(error) as raised:
            client_for(url, wire=wire).upsert_contact({"phone": phone})
        errors[wire] = raised.value
    return errors


# -- the simulator -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim_server() -> Iterator[tuple[dict[str, Any], str]]:
    """One server for the module; each test's simulator is put behind it (fresh state
    and config per test, without waiting for the server's kept connections to end)."""
    current: dict[str, Any] = {}
    with serve_in_thread(lambda env, start: current["app"](env, start), threads=16) as server:
        yield current, server.url


@pytest.fixture
def sim(sim_server: tuple[dict[str, Any], str]) -> tuple[GhlSim, str]:
    sim = GhlSim(SimConfig(max_requests=10_000))
    sim.add_token(TOKEN, LOC, ALL_SCOPES)
    sim_server[0]["app"] = create_app(sim)
    return sim, sim_server[1]


def test_the_worker_path_writes_and_reads_through_the_simulator(sim):
    # Given a client on the wire path
    client = client_for(sim[1])
    assert client._wire is not None
    # When it upserts a contact then reads it back
    contact, created = client.upsert_contact({"phone": "+15550100001", "firstName": "Ada"})
    again = client.get_contact(contact["id"])
    # Then GHL holds it once and the answer is the contact
    assert created and again["firstName"] == "Ada"
    assert len(sim[0].location(LOC).contacts) == 1


def test_rate_limit_headers_reach_the_limiter_case_insensitively(sim):
    seen: list[dict[str, str]] = []

    class Limiter:
        def acquire(self, location_id):
            return type("G", (), {"ok": True, "wait_ms": 0})()

        def release(self, grant):
            pass

        def observe(self, location_id, headers):
            seen.append(headers)

    client_for(sim[1], limiter=Limiter()).upsert_contact({"phone": "+15550100002"})
    assert seen[0]["x-ratelimit-remaining"] == seen[0]["X-RateLimit-Remaining"]
    assert int(seen[0]["X-RateLimit-Max"]) >= 1


def test_4xx_and_5xx_answers_map_as_on_the_requests_path(sim):
    errors = {}
    for wire in (True, False):
        client = client_for(sim[1], wire=wire)
        with pytest.raises(GhlNotFoundError) as missing:
            client.get_contact("nOSUCHCONTACTxxxxxxx")
        errors[wire] = missing.value
    assert str(errors[True]) == str(errors[False])
    assert errors[True].status == errors[False].status
    assert errors[True].body == errors[False].body
    assert {k.lower() for k in errors[True].headers} == {k.lower() for k in errors[False].headers}

    sim[0].update_config(max_requests=1, interval_ms=60_000)
    client = client_for(sim[1])
    with pytest.raises(GhlRateLimitedError) as limited:
        for _ in range(3):
            client.upsert_contact({"phone": "+15550100003"})
    assert limited.value.status == 429 and limited.value.interval_ms == 60_000

    sim[0].update_config(max_requests=1000, error_rate=1.0)
    with pytest.raises(GhlServerError) as failed:
        client.upsert_contact({"phone": "+15550100004"})
    assert failed.value.status in (500, 502, 503)


def test_eight_threads_share_nothing_and_lose_nothing(sim):
    client = client_for(sim[1])

    def work(n: int) -> list[str]:
        ids = []
        for i in range(25):
            contact, _ = client.upsert_contact({"phone": f"+1555020{n}{i:03d}"})
            ids.append(client.get_contact(contact["id"])["id"])
        return ids

    with ThreadPoolExecutor(8) as pool:
        ids = [i for got in pool.map(work, range(8)) for i in got]
    assert len(set(ids)) == 200 == len(sim[0].location(LOC).contacts)


# -- a scripted server -------------------------------------------------------------------


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, answer: Callable[[Handler], None]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.answer = answer
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.connections = 0
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def setup(self) -> None:
        super().setup()
        self.server.connections += 1

    def log_message(self, *args: Any) -> None:
        pass

    def _any(self) -> None:
        size = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(size) if size else b""
        self.server.requests.append((self.command, self.path, dict(self.headers), body))
        self.server.answer(self)

    do_GET = do_POST = do_PUT = do_DELETE = _any

    def reply(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        if "Transfer-Encoding" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[Handler], None]], Server]]:
    started: list[Server] = []

    def start(answer: Callable[[Handler], None]) -> Server:
        server = Server(answer)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.release.set()
        server.shutdown()
        server.server_close()


def ok(handler: Handler) -> None:
    handler.reply(200, b'{"contact": {"id": "c1"}, "new": true}')


def test_both_paths_send_the_same_request(serve):
    # Given a server recording what arrives
    server = serve(ok)
    for wire in (True, False):
        client = client_for(server.url + "/v2", wire=wire)
        # When the same calls go through either path
        client._call("GET", "/contacts/", params={
            "locationId": LOC, "query": "a b&c=d/é+", "limit": 5, "skip": None,
            "tags": ["x", "y z"]})
        client.upsert_contact({"phone": "+15550100005", "name": "Zoë \"q\""})
        client._call("DELETE", "/contacts/c1/tags", json={"tags": ["t"]})
        client._call("DELETE", "/contacts/c1")
        client._call("PUT", "/contacts/c1", json={"x": 1.5})
    # Then the server saw the same requests, header for header
    half = len(server.requests) // 2
    for fast, slow in zip(server.requests[:half], server.requests[half:], strict=True):
        assert fast[:2] == slow[:2]
        assert fast[3] == slow[3]
        assert {k.lower(): v for k, v in fast[2].items()} == \
            {k.lower(): v for k, v in slow[2].items()}
    assert server.requests[0][1].startswith("/v2/contacts/?locationId=")


def test_a_rotated_token_is_sent_from_the_next_call(serve):
    server = serve(ok)
    tokens = iter(["tok-one-AAAAAAAAAAAA", "tok-two-BBBBBBBBBBBB"])
    client = client_for(server.url, token=lambda: next(tokens))
    client.upsert_contact({"phone": "+15550100006"})
    client.upsert_contact({"phone": "+15550100006"})
    assert [r[2]["Authorization"] for r in server.requests] == [
        "Bearer tok-one-AAAAAAAAAAAA", "Bearer tok-two-BBBBBBBBBBBB"]
    assert server.connections == 1  # kept alive across the rotation


def test_a_connection_the_server_closed_between_requests_is_replaced_not_reused(serve):
    # Given a server that closes each connection after answering (an idle timeout),
    # without saying so in a Connection header
    def answer_then_close(handler: Handler) -> None:
        ok(handler)
        handler.close_connection = True

    server = serve(answer_then_close)
    client = client_for(server.url)
    # When three POSTs follow each other, after the close has arrived
    for _ in range(3):
        client.upsert_contact({"phone": "+15550100007"})
        time.sleep(0.05)
    # Then each went once, on a fresh connection, and each was answered
    assert [r[0] for r in server.requests] == ["POST"] * 3
    assert server.connections == 3


def test_a_connection_dropped_after_the_request_is_a_maybe_sent_never_resent(serve):
    # Given a server that reads the POST and closes without answering
    def drop(handler: Handler) -> None:
        handler.close_connection = True

    server = serve(drop)
    errors = upsert_errors(server.url, "+15550100008")
    # Then: ambiguous, as on the requests path, and sent once per path
    assert errors[True].maybe_sent and errors[False].maybe_sent
    assert str(errors[True]) == str(errors[False])
    assert len(server.requests) == 2


def test_a_read_timeout_is_a_maybe_sent_and_names_no_secret(serve):
    def hang(handler: Handler) -> None:
        handler.server.release.wait(10)
        handler.close_connection = True

    server = serve(hang)
    errors = {}
    for wire in (True, False):
        started = time.monotonic()
        with pytest.raises(GhlConnectionError) as timed_out:
            client_for(server.url, wire=wire, read_timeout_s=0.3).upsert_contact(
                {"phone": "+15550100009"})
        assert time.monotonic() - started < 5
        errors[wire] = timed_out.value
    assert errors[True].maybe_sent and str(errors[True]) == str(errors[False])
    assert "ReadTimeout" in str(errors[True])
    assert TOKEN not in repr(errors[True]) + str(errors[True]) + repr(errors[True].__cause__)


def test_a_refused_connection_is_not_sent():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    errors = upsert_errors(url, "+15550100010")
    assert not errors[True].maybe_sent and not errors[False].maybe_sent
    assert str(errors[True]) == str(errors[False])


def test_a_connect_timeout_is_not_sent(monkeypatch):
    def slow(*args: Any, **kwargs: Any) -> socket.socket:
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", slow)
    with pytest.raises(GhlConnectionError) as timed_out:
        client_for("http://127.0.0.1:9").upsert_contact({"phone": "+15550100011"})
    assert not timed_out.value.maybe_sent and "ConnectTimeout" in str(timed_out.value)


def test_big_chunked_and_gzipped_bodies_arrive_whole(serve):
    big = json.dumps({"contact": {"id": "c1", "notes": "x" * 3_000_000}}).encode()

    def chunked(handler: Handler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for start in range(0, len(big), 65_536):
            part = big[start:start + 65_536]
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        handler.wfile.write(b"0\r\n\r\n")

    def zipped(handler: Handler) -> None:
        handler.reply(200, gzip.compress(big), {"Content-Encoding": "gzip"})

    def deflated(handler: Handler) -> None:
        handler.reply(200, zlib.compress(big), {"Content-Encoding": "deflate"})

    for answer in (chunked, zipped, deflated, lambda h: h.reply(200, big)):
        server = serve(answer)
        client = client_for(server.url)
        payload = {"phone": "+15550100012", "notes": "y" * 2_000_000}
        contact, _ = client.upsert_contact(payload)
        assert len(contact["notes"]) == 3_000_000
        assert json.loads(server.requests[0][3])["notes"] == payload["notes"]
        client.upsert_contact(payload)  # the connection stays usable
        assert server.connections == 1


def test_a_redirect_is_an_error_and_not_followed(serve):
    server = serve(lambda h: h.reply(302, b"", {"Location": "/elsewhere"}))
    with pytest.raises(GhlError) as moved:
        client_for(server.url).upsert_contact({"phone": "+15550100013"})
    assert moved.value.status == 302 and len(server.requests) == 1


def test_a_proxy_keeps_the_requests_path_unless_no_proxy_names_the_host(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.test:3128")
    assert client_for("https://services.example.test")._wire is None
    monkeypatch.setenv("NO_PROXY", "services.example.test")
    assert client_for("https://services.example.test")._wire is not None
    assert client_for("https://services.example.test", wire=False)._wire is None


@pytest.fixture
def tls_server(serve, tmp_path) -> tuple[Server, str]:
    """The scripted server over TLS with a self-signed certificate for localhost; the
    certificate's path is the second item (a CA bundle trusting it)."""
    if shutil.which("openssl") is None:
        if IN_CI:
            pytest.fail("openssl is needed to make a certificate; required in CI")
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server = serve(ok)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return server, str(cert)


def test_https_trusts_the_ca_bundle_of_the_environment(tls_server, monkeypatch):
    server, bundle = tls_server
    url = f"https://localhost:{server.server_address[1]}"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
    contact, _ = client_for(url).upsert_contact({"phone": "+15550100014"})
    assert contact["id"] == "c1" and server.requests[0][0] == "POST"


def test_an_untrusted_certificate_is_not_sent(tls_server, monkeypatch):
    server, _ = tls_server
    url = f"https://localhost:{server.server_address[1]}"
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    errors = upsert_errors(url, "+15550100015")
    assert not errors[True].maybe_sent and str(errors[True]) == str(errors[False])
    assert server.requests == []


def test_a_token_with_a_line_break_is_refused_before_sending_and_not_shown(serve):
    # Given a token source answering a token with a header injection in it
    server = serve(ok)
    bad = "tok-AAAAAAAA\r\nX-Injected: 1"
    with pytest.raises(GhlConnectionError) as refused:
        client_for(server.url, token=lambda: bad).upsert_contact({"phone": "+15550100016"})
    # Then nothing was sent, and the token is in no text of the error or its cause
    assert server.requests == [] and server.connections == 0
    texts = str(refused.value) + repr(refused.value) + repr(refused.value.__cause__)
    assert "tok-AAAAAAAA" not in texts and "InvalidHeader" in str(refused.value)


def test_repeated_header_names_join_as_requests_joins_them(serve):
    def twice(handler: Handler) -> None:
        handler.send_response(400)
        handler.send_header("X-Request-Id", "a")
        handler.send_header("x-request-id", "b")
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"{}")

    server = serve(twice)
    errors = upsert_errors(server.url, "+15550100017", GhlError)
    assert errors[True].request_id == errors[False].request_id == "a, b"
    assert errors[True].headers == errors[False].headers
