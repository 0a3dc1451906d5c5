"""The secret never reaches the app's request, its errors or any log line."""

from __future__ import annotations

import logging

import fakeredis
import pytest

from producers.webhook import create_app
from producers.webhook.token import ENVIRON_KEY, HideToken, check_tokens

SECRET = "whsec-Hidden-9876543210abcdef"
CALL = {"callid": "c-9", "direction": "inbound", "state": "missed",
        "from_number": "+15125550101"}


class ExplodingPublisher:
    def publish_one(self, _event):
        raise RuntimeError("boom")


def test_the_middleware_moves_the_token_out_of_every_uri_variable():
    # Given a request whose URL and header carry tokens
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        return []

    environ = {"QUERY_STRING": f"a=1&token={SECRET}", "REQUEST_URI": f"/x?a=1&token={SECRET}",
               "RAW_URI": f"/x?token={SECRET}&a=1", "HTTP_X_WEBHOOK_TOKEN": "hdr"}
    # When it passes the middleware
    HideToken(app)(environ, lambda *a: None)
    # Then no variable holds the secret; the app gets the tokens apart
    assert SECRET not in repr({k: v for k, v in seen.items() if k != ENVIRON_KEY})
    assert (seen["QUERY_STRING"], seen["REQUEST_URI"], seen["RAW_URI"]) == ("a=1", "/x?a=1",
                                                                           "/x?a=1")
    assert seen[ENVIRON_KEY] == [SECRET, "hdr"]
    assert "HTTP_X_WEBHOOK_TOKEN" not in seen


@pytest.mark.parametrize(("tokens", "verdict"), [
    ([], "missing"), ([""], "missing"), (["nope"], "wrong"), (["nope", SECRET], "several"),
    ([SECRET, SECRET], "several"), (["", SECRET], "several"), ([SECRET], None),
])
def test_tokens_are_checked(tokens, verdict):
    # Given the tokens a request carried
    # When checked against the secret
    # Then missing, wrong, more than one (one request is one guess) or accepted
    assert check_tokens(tokens, SECRET) == verdict


def test_an_exception_in_the_app_logs_no_secret(caplog):
    # Given a receiver whose queue raises an unexpected error
    redis_client = fakeredis.FakeRedis()
    app = create_app(secret=SECRET, publisher=ExplodingPublisher(), redis_client=redis_client)
    http = app.test_client()
    # When a call is posted with the secret in the URL
    with caplog.at_level(logging.DEBUG):
        answer = http.post("/webhooks/toky/inbound_call_ended",
                           query_string={"token": SECRET}, json=CALL)
    # Then 500, Flask logged the exception, and nowhere the secret
    assert answer.status_code == 500
    assert "Exception on /webhooks/toky/inbound_call_ended [POST]" in caplog.text
    assert SECRET not in caplog.text
    assert SECRET not in answer.get_data(as_text=True)
