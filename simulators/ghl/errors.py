"""GHL's error answers, as one exception the Flask app turns into JSON.

Bodies follow reference/ghl-api.md: ``{"statusCode", "message"}`` with a string
message for 4xx; a LIST of messages and ``"error"`` for 422.
"""

from __future__ import annotations

from typing import Any

CONTACTS_VERSION = "2021-07-28"
CALENDARS_VERSION = "2021-04-15"


class ApiError(Exception):
    """Answer ``status`` with JSON ``body`` instead of running the endpoint."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body.get('message')}")
        self.status = status
        self.body = body


def bad_request(message: str, **extra: object) -> ApiError:
    return ApiError(400, {"statusCode": 400, "message": message, **extra})


def invalid_token() -> ApiError:
    return ApiError(401, {"statusCode": 401, "message": "Invalid JWT", "error": "Unauthorized"})


def missing_scope() -> ApiError:
    # Wording UNCONFIRMED in the reference ("seen message").
    return ApiError(401, {"statusCode": 401,
                          "message": "The token is not authorized for this scope."})


def wrong_location() -> ApiError:
    return ApiError(
        403, {"statusCode": 403, "message": "The token does not have access to this location."})


def not_found(what: str, object_id: str | None = None, *, status: int = 404) -> ApiError:
    """An unknown object: 404 ``"{what} not found"``, or, with ``status=400``, the form
    working clients report for GHL's contacts API: 400 ``"{what} with id X not found"``
    (see ``SimConfig.missing_status`` for the sources)."""
    if status == 400:
        return bad_request(f"{what} with id {object_id} not found")
    return ApiError(404, {"statusCode": 404, "message": f"{what} not found"})


def missing(what: str, object_id: str | None = None) -> ApiError:
    """``not_found`` answered as the running simulator's ``missing_status`` says."""
    from flask import current_app

    sim = current_app.extensions["ghl_sim"]  # the running simulator (gate.current_sim)
    return not_found(what, object_id, status=sim.config.missing_status)


def no_route(method: str, path: str) -> ApiError:
    """NestJS's answer to a path no controller serves."""
    return ApiError(404, {"statusCode": 404, "message": f"Cannot {method} {path}",
                          "error": "Not Found"})


def unprocessable(messages: list[str]) -> ApiError:
    return ApiError(422, {"statusCode": 422, "message": list(messages),
                          "error": "Unprocessable Entity"})


def too_many_requests() -> ApiError:
    return ApiError(429, {"statusCode": 429, "message": "Too many requests"})


def bad_version(expected: str) -> ApiError:
    # ASSUMPTION: GHL answers a missing or wrong Version header with 400; the exact
    # message is not documented, so this one just names the header and the value.
    return bad_request(f"Version header is missing or invalid: send 'Version: {expected}'")
