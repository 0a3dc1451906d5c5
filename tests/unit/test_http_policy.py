"""The HTTP policy both clients share: one rule each for Retry-After, backoff, the wait
before a retry, "may the request have arrived", X-RateLimit-* and sessions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
)

from clients.ghl.errors import GhlConnectionError, error_from_exception
from clients.http_policy import (
    RateLimitHeaders,
    backoff_ms,
    may_have_arrived,
    parse_retry_after_s,
    pooled_session,
    rate_limit_headers,
    retry_after_ms,
    wait_ms,
)
from clients.toky import TokyClient, TokyConnectionError

NOW_S = datetime(2026, 1, 1, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("value", "seconds"), [
    ("5", 5.0),
    (" 0.25 ", 0.25),
    ("Thu, 01 Jan 2026 00:00:30 GMT", 30.0),
    # a date whose zone is "-0000" (no zone): UTC, as every HTTP-date, not local time
    ("Thu, 01 Jan 2026 00:00:30 -0000", 30.0),
    ("Wed, 31 Dec 2025 23:00:00 GMT", 0.0),
    ("-3", 0.0),
    ("nan", None),
    ("inf", None),
    ("soon", None),
    ("", None),
    (None, None),
])
def test_retry_after_is_seconds_or_an_http_date_in_utc(value, seconds):
    assert parse_retry_after_s(value, now_s=NOW_S) == seconds


def test_retry_after_in_ms_is_rounded_up_and_read_from_any_case():
    assert retry_after_ms({"retry-after": "0.0001"}, now_s=NOW_S) == 1
    assert retry_after_ms({"RETRY-AFTER": "2"}, now_s=NOW_S) == 2000
    assert retry_after_ms({"Content-Length": "2"}, now_s=NOW_S) is None


def test_backoff_counts_the_failed_attempt_from_zero():
    # Given rand pinned at 0.5 and a base of 100 ms
    waits = [backoff_ms(a, base_ms=100, cap_ms=1000, rand=lambda: 0.5) for a in range(6)]
    # Then the first retry waits half the base, each next one twice that, up to the cap
    assert waits == [50, 100, 200, 400, 500, 500]
    assert backoff_ms(-1, base_ms=100, cap_ms=1000, rand=lambda: 0.5) == 50


def test_a_server_hint_wins_over_backoff_and_is_capped():
    assert wait_ms(2500, 3, base_ms=100, cap_ms=60_000, rand=lambda: 0.5) == 2500
    assert wait_ms(3_600_000, 0, base_ms=100, cap_ms=60_000) == 60_000
    assert wait_ms(0.4, 0, base_ms=100, cap_ms=60_000) == 1
    assert wait_ms(None, 1, base_ms=100, cap_ms=60_000, rand=lambda: 0.5) == 100


def _refused() -> requests.exceptions.ConnectionError:
    return requests.exceptions.ConnectionError(
        MaxRetryError(None, "/x", NewConnectionError(None, "refused")))


@pytest.mark.parametrize(("exc", "arrived"), [
    (requests.exceptions.ConnectTimeout("c"), False),
    (requests.exceptions.SSLError("tls"), False),
    (requests.exceptions.InvalidURL("bad"), False),
    (requests.exceptions.MissingSchema("no scheme"), False),
    (_refused(), False),
    (requests.exceptions.ConnectionError(
        MaxRetryError(None, "/x", ConnectTimeoutError(None, "slow"))), False),
    (requests.exceptions.ReadTimeout("r"), True),
    (requests.exceptions.ConnectionError(ProtocolError("Connection aborted.")), True),
    (requests.exceptions.ConnectionError("reset by peer"), True),
    (requests.exceptions.ChunkedEncodingError("broken"), True),
])
def test_a_request_may_have_arrived_unless_the_connection_never_opened(exc, arrived):
    assert may_have_arrived(exc) is arrived


@pytest.mark.parametrize("exc", [requests.exceptions.ConnectTimeout("c"), _refused(),
                                 requests.exceptions.ReadTimeout("r")])
def test_both_clients_say_the_same_about_a_failed_request(exc):
    # Given the same failure of requests under the GHL and the Toky client
    ghl = error_from_exception(exc, "POST", "/contacts/")
    session = requests.Session()
    session.request = lambda *_a, **_k: (_ for _ in ()).throw(exc)
    client = TokyClient(base_url="https://api.toky.test/v1", api_key="k" * 20,
                        session=session, max_attempts=1, sleep=lambda _s: None)
    with pytest.raises(TokyConnectionError) as toky:
        client.create_contact({"phone": "+15125550101"})
    # Then both errors carry the one answer
    assert isinstance(ghl, GhlConnectionError)
    assert ghl.maybe_sent is toky.value.request_sent is may_have_arrived(exc)


def test_rate_limit_headers_keep_whole_numbers_and_refuse_a_zero_window():
    seen = rate_limit_headers({"x-ratelimit-max": "100", "X-RateLimit-Remaining": "0",
                               "X-RateLimit-Interval-Milliseconds": "0",
                               "X-RateLimit-Limit-Daily": "1.5"})
    assert seen == RateLimitHeaders(max_requests=100, remaining=0)


_REQUESTS_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE",
                 "CURL_CA_BUNDLE", "http_proxy", "https_proxy", "all_proxy", "no_proxy")


def test_sessions_keep_connections_and_never_retry_on_their_own(monkeypatch):
    for name in _REQUESTS_ENV:
        monkeypatch.delenv(name, raising=False)
    session = pooled_session(base_url="https://example.test", pool_maxsize=7,
                             pool_connections=3)
    adapter = session.get_adapter("https://example.test/")
    assert adapter.max_retries.total == 0
    assert adapter._pool_maxsize == 7 and adapter._pool_connections == 3
    assert session.trust_env is False
    assert session.proxies == {} and session.verify is True


def test_sessions_read_proxy_and_ca_bundle_once_and_honour_no_proxy(monkeypatch):
    """The environment is read when the session is made (not on every request, where
    requests would walk os.environ each time): the proxy, NO_PROXY and the CA bundle
    are still honoured."""
    for name in _REQUESTS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.setenv("NO_PROXY", "internal.test")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/our-ca.pem")
    session = pooled_session(base_url="https://services.example.test", pool_maxsize=1,
                             pool_connections=1)
    assert session.trust_env is False
    assert session.proxies.get("https") == "http://proxy.test:3128"
    assert session.verify == "/etc/our-ca.pem"
    bypassed = pooled_session(base_url="https://api.internal.test", pool_maxsize=1,
                              pool_connections=1)
    assert bypassed.proxies == {}
    # what a request is sent with: the proxy resolved at creation, whatever changes later
    monkeypatch.delenv("HTTPS_PROXY")
    prepared = session.prepare_request(requests.Request("GET", "https://services.example.test/x"))
    settings = session.merge_environment_settings(prepared.url, {}, None, None, None)
    assert settings["proxies"]["https"] == "http://proxy.test:3128"
    assert settings["verify"] == "/etc/our-ca.pem"
