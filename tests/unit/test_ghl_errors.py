"""The GHL error hierarchy and the one status -> error mapping (pure, no HTTP)."""

from __future__ import annotations

import json
import pickle

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from clients.ghl.errors import (
    GhlAuthError,
    GhlConnectionError,
    GhlDuplicateContactError,
    GhlError,
    GhlNotFoundError,
    GhlPermissionError,
    GhlRateLimitedError,
    GhlScopeError,
    GhlServerError,
    GhlValidationError,
    error_from_exception,
    error_from_response,
)

SECRET = "pit-ERRORS-SECRET-987654"


def answer(status: int, body=None, headers=None, raw: bytes | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.reason = "Reason"
    response.headers.update(headers or {})
    response._content = raw if raw is not None else (
        b"" if body is None else json.dumps(body).encode())
    return response


@pytest.mark.parametrize(
    ("status", "cls"),
    [(400, GhlValidationError), (401, GhlAuthError), (403, GhlPermissionError),
     (404, GhlNotFoundError), (422, GhlValidationError), (429, GhlRateLimitedError),
     (500, GhlServerError), (502, GhlServerError), (504, GhlServerError), (409, GhlError)],
)
def test_each_status_maps_to_one_class(status, cls):
    # Given an answer with the status / When mapped
    error = error_from_response(answer(status, {"message": "m"}), "get", "/contacts/x")
    # Then it is exactly that class
    assert type(error) is cls
    assert isinstance(error, GhlError)
    assert (error.status, error.method, error.path, error.message) == (
        status, "GET", "/contacts/x", "m")


def test_str_reads_like_a_sentence_and_strips_the_query():
    # Given a 422 on a path that carried a query string
    error = error_from_response(
        answer(422, {"statusCode": 422, "message": ["property locationId should not exist"]}),
        "PUT", "/contacts/abc?locationId=loc1",
    )
    # Then the text names status, call and GHL's message, without the query
    assert str(error) == "GHL 422 on PUT /contacts/abc: property locationId should not exist"
    assert error.path == "/contacts/abc"


def test_list_message_is_joined_and_kept_as_a_list():
    error = error_from_response(answer(422, {"message": ["a", "b"]}), "POST", "/contacts/")
    assert error.message == "a; b"
    assert error.messages == ["a", "b"]


def test_non_json_answer_uses_the_http_reason():
    error = error_from_response(answer(502, raw=b"<html>bad gateway</html>"), "GET", "/users/")
    assert error.body is None
    assert error.message == "Reason"


def test_duplicate_400_carries_the_existing_contact():
    # Given GHL's duplicate refusal
    body = {"statusCode": 400, "message": "This location does not allow duplicated contacts.",
            "meta": {"contactId": "c9", "matchingField": "phone"}}
    # When mapped
    error = error_from_response(answer(400, body), "POST", "/contacts/")
    # Then it is a validation error that names the contact
    assert isinstance(error, GhlDuplicateContactError)
    assert isinstance(error, GhlValidationError)
    assert (error.contact_id, error.matching_field) == ("c9", "phone")


def test_400_with_meta_but_no_contact_id_is_plain_validation():
    error = error_from_response(answer(400, {"message": "x", "meta": {}}), "POST", "/contacts/")
    assert type(error) is GhlValidationError


def test_429_reads_retry_after_and_the_window():
    # Given a 429 with both hints
    headers = {"retry-after": "2", "X-RateLimit-Interval-Milliseconds": "10000"}
    # When mapped
    error = error_from_response(answer(429, {"message": "slow"}, headers), "GET", "/contacts/")
    # Then both are parsed, in ms
    assert (error.retry_after_ms, error.interval_ms, error.from_server) == (2000, 10000, True)


def test_429_without_hints_has_none():
    error = error_from_response(answer(429), "GET", "/contacts/")
    assert (error.retry_after_ms, error.interval_ms) == (None, None)


def test_request_id_comes_from_a_header_or_the_trace_id():
    by_header = error_from_response(answer(500, {}, {"X-Request-Id": "rq-1"}), "GET", "/x/")
    by_body = error_from_response(answer(400, {"traceId": "tr-1"}), "GET", "/x/")
    assert (by_header.request_id, by_body.request_id) == ("rq-1", "tr-1")


def test_cookies_and_auth_headers_are_never_kept():
    error = error_from_response(
        answer(401, {"message": "Invalid JWT"}, {"Set-Cookie": "s=1", "X-RateLimit-Max": "100"}),
        "GET", "/contacts/x",
    )
    assert list(error.headers) == ["X-RateLimit-Max"]


def test_a_registered_secret_echoed_by_ghl_is_scrubbed():
    # Given a registered token that GHL echoes back in its message and body
    from toky_ghl.logs import register_secrets

    register_secrets([SECRET])
    body = {"message": f"bad token Bearer {SECRET}", "detail": [SECRET]}
    # When mapped
    error = error_from_response(answer(401, body), "GET", "/contacts/x")
    # Then the token is in no text of the error
    for text in (str(error), repr(error), json.dumps(error.body), error.message):
        assert SECRET not in text


def test_scope_error_names_the_scope_and_is_an_auth_error():
    error = GhlScopeError("contacts.write", method="post", path="/contacts/upsert")
    assert isinstance(error, GhlAuthError)
    assert error.status is None
    assert error.scope == "contacts.write"
    assert str(error) == "GHL_SCOPES lacks contacts.write, needed for POST /contacts/upsert"


def test_local_rate_limit_reads_as_local():
    error = GhlRateLimitedError("wait 5000 ms", retry_after_ms=5000, from_server=False,
                                method="GET", path="/contacts/x")
    assert str(error) == "GHL rate limit (local) on GET /contacts/x: wait 5000 ms"
    assert error.status is None


@pytest.mark.parametrize(
    ("exc", "maybe_sent"),
    [
        (requests.exceptions.ConnectTimeout("c"), False),
        (requests.exceptions.SSLError("tls"), False),
        (requests.exceptions.ConnectionError(MaxRetryError(
            None, "/x", NewConnectionError(None, "refused"))), False),
        (requests.exceptions.ReadTimeout("r"), True),
        (requests.exceptions.ConnectionError(ProtocolError("Connection aborted.")), True),
        (requests.exceptions.ChunkedEncodingError("broken"), True),
    ],
)
def test_connection_failures_say_whether_the_request_may_have_been_sent(exc, maybe_sent):
    # Given a failure of requests / When mapped
    error = error_from_exception(exc, "POST", "/contacts/upsert?x=1")
    # Then the class, maybe_sent and the call are set, with no status
    assert isinstance(error, GhlConnectionError)
    assert error.maybe_sent is maybe_sent
    assert (error.status, error.path) == (None, "/contacts/upsert")
    assert str(error).startswith("GHL connection error on POST /contacts/upsert: ")


@pytest.mark.parametrize(
    "error",
    [
        error_from_response(answer(400, {"message": "x", "meta": {"contactId": "c1"}}),
                            "POST", "/contacts/"),
        error_from_response(answer(429, {}, {"Retry-After": "1"}), "GET", "/contacts/"),
        GhlScopeError("users.readonly", method="GET", path="/users/"),
        GhlConnectionError("x", maybe_sent=True, method="GET", path="/x"),
    ],
)
def test_errors_survive_pickling(error):
    # Given an error (Celery's prefork pool pickles task exceptions)
    # When pickled and loaded
    copy = pickle.loads(pickle.dumps(error))
    # Then class, text and attributes are unchanged
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.__dict__ == error.__dict__


@pytest.mark.parametrize(("status", "cls"), [
    (422, GhlValidationError), (403, GhlPermissionError), (404, GhlNotFoundError),
    (409, GhlError), (401, GhlAuthError),
])
def test_a_duplicate_like_body_on_another_status_is_not_a_duplicate(status, cls):
    # Given GHL's duplicate body, but on another status than 400
    body = {"statusCode": status, "message": "This location does not allow duplicated contacts.",
            "meta": {"contactId": "c9", "matchingField": "email"}}
    # When mapped
    error = error_from_response(answer(status, body), "POST", "/contacts/")
    # Then it is that status's error, never a duplicate naming a contact to adopt
    assert type(error) is cls
    assert not isinstance(error, GhlDuplicateContactError)


def test_a_duplicate_on_a_non_dict_meta_is_plain_validation():
    body = {"message": "x", "meta": ["contactId", "c9"]}
    assert type(error_from_response(answer(400, body), "POST", "/contacts/")) is \
        GhlValidationError


@pytest.mark.parametrize("body", [
    {"statusCode": 400, "message": "Contact with id abc123 not found"},
    {"statusCode": 400, "message": "Task not found"},
    {"statusCode": 400, "message": "Note with id n1 not found"},
    {"statusCode": 400, "message": "Appointment not found"},
    {"statusCode": 400, "message": "Bad Request", "error": "Contact with id abc123 not found"},
    {"statusCode": 400, "message": ["Contact not found: abc123"]},
])
def test_a_400_saying_the_object_was_not_found_is_not_found(body):
    # Given GHL's 400 for an unknown contact, task, note or appointment (no 404 in its spec)
    # When mapped / Then it is "not found", like a 404 (so the caller makes the object again)
    error = error_from_response(answer(400, body), "GET", "/contacts/abc123")
    assert type(error) is GhlNotFoundError
    assert error.status == 400


@pytest.mark.parametrize("message", [
    "Calendar not found: cal-1",           # our configuration, not a missing object
    "phone must be a valid phone number",
    "This location does not allow duplicated contacts.",
])
def test_other_400s_stay_validation_errors(message):
    error = error_from_response(answer(400, {"statusCode": 400, "message": message}),
                                "POST", "/calendars/events/appointments")
    assert type(error) is GhlValidationError
