"""TLS for the broker with a ``rediss://`` REDIS_URL: kombu enables it by the scheme only
for its own transport name, so worker/broker.py says it for ours."""

from __future__ import annotations

import ssl

from worker.broker import broker_ssl_options


def test_a_rediss_url_turns_tls_on_with_certificates_verified():
    assert broker_ssl_options("rediss://:pw@redis.example:6380/0") == {
        "broker_use_ssl": {"ssl_cert_reqs": ssl.CERT_REQUIRED}}


def test_ssl_options_in_the_url_are_left_to_kombu_and_plain_urls_get_none():
    assert broker_ssl_options("rediss://redis.example:6380/0?ssl_cert_reqs=none") == {}
    assert broker_ssl_options("redis://localhost:6379/0") == {}
    assert broker_ssl_options("unix:///tmp/redis.sock") == {}
