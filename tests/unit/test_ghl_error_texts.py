"""What a GHL error says (log lines, dead-letter reasons) and what it keeps, exactly."""

from __future__ import annotations

import json
import pickle

import pytest
import requests

from clients.ghl.errors import (
    GhlConnectionError,
    GhlDuplicateContactError,
    GhlError,
    GhlRateLimitedError,
    GhlValidationError,
    error_from_exception,
    error_from_response,
)
from toky_ghl.logs import register_secrets


def answer(status: int, body) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.reason = "Reason"
    response._content = json.dumps(body).encode()
    return response


@pytest.mark.parametrize(("error", "text"), [
    (GhlValidationError("email is invalid", status=422, method="POST", path="/contacts/"),
     "GHL 422 on POST /contacts/: email is invalid"),
    (GhlError("odd", method="POST", path="/contacts/"), "GHL error on POST /contacts/: odd"),
    (GhlError("odd", status=500), "GHL 500: odd"),
    (GhlError("odd", status=500, method="GET"), "GHL 500: odd"),
    (GhlError("odd", status=500, path="/x"), "GHL 500: odd"),
    (GhlError(None, status=500), "GHL 500: no message"),
    (GhlRateLimitedError("wait", status=429), "GHL 429: wait"),
    (GhlRateLimitedError("wait", from_server=False), "GHL rate limit (local): wait"),
])
def test_an_error_reads_as_status_call_and_message(error, text):
    assert str(error) == text


def test_repr_names_the_class_and_the_call():
    error = GhlValidationError("bad", status=400, method="PUT", path="/contacts/c1")
    assert repr(error).startswith("GhlValidationError(status=400, method='PUT', "
                                  "path='/contacts/c1'")


def test_a_pickled_error_keeps_its_message_as_its_argument():
    error = GhlValidationError("email is invalid", status=422, method="POST", path="/x")
    copy = pickle.loads(pickle.dumps(error))
    assert copy.args == ("email is invalid",) and copy.message == "email is invalid"


def test_rate_limits_are_from_the_server_and_not_daily_unless_said():
    plain = GhlRateLimitedError("wait", status=429)
    daily = GhlRateLimitedError("spent", daily=True, from_server=False)
    assert (plain.from_server, plain.daily) == (True, False)
    assert (daily.from_server, daily.daily) == (False, True)


def test_a_duplicate_keeps_its_message_and_reads_odd_bodies_as_no_contact():
    named = GhlDuplicateContactError("dup", status=400,
                                     body={"meta": {"contactId": "c1", "matchingField": "phone"}})
    assert (named.message, named.contact_id, named.matching_field) == ("dup", "c1", "phone")
    for body in (["meta"], {"meta": ["contactId", "c1"]}, None, "text"):
        odd = GhlDuplicateContactError("dup", status=400, body=body)
        assert (odd.contact_id, odd.matching_field) == (None, None)


def test_a_connection_error_keeps_its_message():
    error = GhlConnectionError("ReadTimeout (x)", maybe_sent=True, method="GET", path="/x")
    assert error.message == "ReadTimeout (x)" and str(error).endswith(": ReadTimeout (x)")


@pytest.mark.parametrize(("exc", "message"), [
    (requests.exceptions.ConnectTimeout("c"), "ConnectTimeout (the request was not sent)"),
    (requests.exceptions.InvalidURL("u"), "InvalidURL (the request was not sent)"),
    (requests.exceptions.ReadTimeout("r"), "ReadTimeout (the request may have reached GHL)"),
    (requests.exceptions.ConnectionError(), "ConnectionError (the request may have reached GHL)"),
])
def test_a_failure_of_requests_says_whether_the_request_left(exc, message):
    error = error_from_exception(exc, "POST", "/contacts/upsert")
    assert error.message == message
    assert error.maybe_sent is ("may have reached" in message)


def test_empty_and_missing_messages_are_left_out():
    assert GhlValidationError(["a", None, "", "b"], status=422).messages == ["a", "b"]
    assert GhlValidationError("", status=400).messages == []
    assert str(GhlValidationError("", status=400)) == "GHL 400: no message"
    assert GhlError("x").args == ("x",)


@pytest.mark.parametrize(("path", "kept"), [
    ("/contacts/c1?token=abc", "/contacts/c1"),
    ("https://services.example/contacts/?locationId=L", "/contacts/"),
    ("https://services.example?x=1?y=2", "https://services.example"),
    ("?token=abc", ""),
])
def test_only_the_path_of_the_call_is_kept(path, kept):
    assert GhlError("x", method="GET", path=path).path == kept


@pytest.mark.parametrize(("trace", "kept"), [("t-1", "t-1"), ("", None), (123, None)])
def test_the_request_id_is_a_non_empty_trace_id(trace, kept):
    error = error_from_response(answer(400, {"message": "x", "traceId": trace}), "GET", "/x")
    assert error.request_id == kept


def test_a_secret_echoed_in_a_list_of_the_body_is_scrubbed():
    register_secrets(["pit-ECHOED-IN-A-LIST-1234"])
    body = {"message": "bad", "details": ["token pit-ECHOED-IN-A-LIST-1234 refused", 7]}
    error = error_from_response(answer(422, body), "POST", "/contacts/")
    assert "pit-ECHOED-IN-A-LIST-1234" not in json.dumps(error.body)
    assert len(error.body["details"]) == 2 and error.body["details"][1] == 7


def test_duplicate_and_not_found_answers_keep_ghls_message():
    dup = error_from_response(answer(400, {"message": "This location does not allow duplicated "
                                                      "contacts.", "meta": {"contactId": "c"}}),
                              "POST", "/contacts/")
    gone = error_from_response(answer(400, {"message": "Contact not found"}), "GET",
                               "/contacts/c")
    assert dup.message == "This location does not allow duplicated contacts."
    assert gone.message == "Contact not found"
