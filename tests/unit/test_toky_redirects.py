"""The Toky key never follows a redirect: two real loopback servers, Toky's answering
302 to the other; the other must never see a request (requests keeps a custom header
such as X-Toky-Key on a change of host, so a followed redirect would hand it over)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from clients.toky import TokyClient, TokyError

KEY = "tk_live_Redirect0123456789"


class _Recorder(BaseHTTPRequestHandler):
    seen: list[dict[str, str]]
    location: str | None

    def _answer(self) -> None:
        self.seen.append(dict(self.headers))
        if self.location:
            self.send_response(self.status)
            self.send_header("Location", self.location + self.path)
            self.send_header("Content-Length", "0")
        else:
            body = b'{"count": 0, "next": null, "results": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not self.location:
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer

    def log_message(self, *_args: object) -> None:
        pass


def _serve(location: str | None, status: int = 302) -> tuple[ThreadingHTTPServer, list[dict]]:
    seen: list[dict] = []
    handler = type("Handler", (_Recorder,), {"seen": seen, "location": location,
                                             "status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.fixture
def other_host() -> Iterator[tuple[str, list[dict]]]:
    server, seen = _serve(None)
    # "localhost" and "127.0.0.1" are different hosts to requests.
    yield f"http://localhost:{server.server_address[1]}", seen
    server.shutdown()


@pytest.mark.parametrize("status", [302, 307])
@pytest.mark.parametrize("method", ["GET", "PUT"])
def test_a_redirect_is_an_error_and_the_key_never_reaches_the_other_host(other_host, status,
                                                                         method):
    # Given a "Toky" that redirects every request to another host
    target, seen_there = other_host
    toky, seen_at_toky = _serve(target, status)
    client = TokyClient(base_url=f"http://127.0.0.1:{toky.server_address[1]}/v1", api_key=KEY,
                        max_attempts=3, sleep=lambda _s: None)
    try:
        # When the client sends a request
        with pytest.raises(TokyError) as caught:
            client.request(method, "/contacts", json={"phone": "+15125550101"}
                           if method != "GET" else None)
    finally:
        toky.shutdown()
    # Then it is an error naming the redirect, not retried, never followed
    assert caught.value.status == status
    assert "redirect" in str(caught.value) and "localhost" in str(caught.value)
    assert len(seen_at_toky) == 1 and seen_at_toky[0].get("X-Toky-Key") == KEY
    assert seen_there == []
    assert KEY not in str(caught.value)
