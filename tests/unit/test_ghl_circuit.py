"""The GHL client behind the circuit, against a STRICT HTTP stub (any request not
registered fails): failures open it, nothing is sent while open, one probe closes it."""

from __future__ import annotations

import fakeredis
import pytest
import requests
import responses

from clients.ghl.client import GhlClient
from clients.ghl.errors import GhlConnectionError, GhlServerError, GhlValidationError
from worker.auth.errors import AuthUnavailable
from worker.circuit import Circuit, CircuitOpen, circuit_state

BASE = "https://ghl.test"
LOC = "loc123"
URL = f"{BASE}/contacts/c1"


@pytest.fixture
def r():
    return fakeredis.FakeRedis()


def client(r, token="tok") -> GhlClient:
    circuit = Circuit(r, "p", failure_threshold=3, probe_interval_ms=1000, probe_max_ms=4000)
    return GhlClient(base_url=BASE, token=token, location_id=LOC,
                     scopes={"contacts.readonly"}, circuit=circuit)


def due_now(r) -> None:
    r.hset(f"p:circuit:{LOC}", "next_probe_ms", 0)


@responses.activate
def test_consecutive_5xx_and_timeouts_open_the_circuit_and_then_nothing_is_sent(r):
    ghl = client(r)
    responses.get(URL, status=503, json={"statusCode": 503, "message": "down"})
    responses.get(URL, body=requests.exceptions.ReadTimeout("slow"))
    responses.get(URL, status=502, json={"statusCode": 502, "message": "down"})
    with pytest.raises(GhlServerError):
        ghl.get_contact("c1")
    with pytest.raises(GhlConnectionError):
        ghl.get_contact("c1")
    with pytest.raises(GhlServerError):
        ghl.get_contact("c1")
    assert circuit_state(r, "p", LOC)["state"] == "open"
    sent = len(responses.calls)
    with pytest.raises(CircuitOpen) as refused:
        ghl.get_contact("c1")
    assert len(responses.calls) == sent  # not sent
    assert refused.value.next_probe_ms > 0


@responses.activate
def test_a_4xx_is_an_answer_it_resets_the_count(r):
    ghl = client(r)
    for status in (503, 503, 422, 503, 503):
        responses.get(URL, status=status, json={"statusCode": status, "message": "x"})
    for _ in range(5):
        with pytest.raises((GhlServerError, GhlValidationError)):
            ghl.get_contact("c1")
    assert circuit_state(r, "p", LOC)["state"] == "closed"


@responses.activate
def test_one_probe_at_a_time_and_its_success_closes_the_circuit(r):
    ghl = client(r)
    for _ in range(3):
        responses.get(URL, status=503, json={"statusCode": 503, "message": "down"})
    for _ in range(3):
        with pytest.raises(GhlServerError):
            ghl.get_contact("c1")
    # a failed probe re-opens it with the interval doubled
    due_now(r)
    responses.get(URL, status=503, json={"statusCode": 503, "message": "down"})
    with pytest.raises(GhlServerError):
        ghl.get_contact("c1")
    assert circuit_state(r, "p", LOC)["interval_ms"] == 2000
    with pytest.raises(CircuitOpen):
        ghl.get_contact("c1")
    # the next probe succeeds: closed, and calls go through
    due_now(r)
    responses.get(URL, json={"contact": {"id": "c1"}})
    responses.get(URL, json={"contact": {"id": "c1"}})
    assert ghl.get_contact("c1") == {"id": "c1"}
    assert circuit_state(r, "p", LOC)["state"] == "closed"
    assert ghl.get_contact("c1") == {"id": "c1"}


def test_the_token_endpoint_down_counts_like_a_5xx_and_opens_the_circuit(r):
    def token() -> str:
        raise AuthUnavailable("the OAuth token endpoint did not answer")

    ghl = client(r, token=token)
    for _ in range(3):
        with pytest.raises(AuthUnavailable):
            ghl.get_contact("c1")
    assert circuit_state(r, "p", LOC)["state"] == "open"
    with pytest.raises(CircuitOpen):
        ghl.get_contact("c1")
