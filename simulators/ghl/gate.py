"""What every API request goes through before and after its endpoint.

Order (each step can answer instead of the endpoint):
0. ``down`` -> 503 (counted as an arrival only: GHL never saw it);
1. token -> 401 ``Invalid JWT`` (no location known: not counted, no rate headers);
2. the location's rate limit, counted on arrival -> 429 (uncounted);
3. ``latency_ms``, then the fault dice -> 500/502/503 before anything is read;
4. per endpoint: ``Version`` header -> 400, scope -> 401, ``locationId`` of the
   query or body vs the token's -> 403 (guards run before body validation, as
   in NestJS);
5. the endpoint, under the simulator's lock; a successful write may then lose
   its answer -> 504 (the write stays).
Every answer to a counted request carries the ``X-RateLimit-*`` headers.

Sources (reference/ghl-api.md, which cites them): Bearer token and the
``Version`` header per API (apps/contacts.json ``2021-07-28``, apps/calendars.json
``2021-04-15``); the 401 body ``{"statusCode", "message": "Invalid JWT", "error":
"Unauthorized"}`` and the 403 "The token does not have access to this location."
(seen in issues; "Errors"); a call without its scope answers 401 (docs/oauth/Scopes.md
and the ``security`` entries of apps/*.json; the message is UNCONFIRMED); 429 over
the burst or daily limit with the ``X-RateLimit-*`` headers (HighLevel's rate-limit
page, "Rate limits"); a write that answered an error but was applied
(highlevel-api-docs issue #64: "Never assume a failed write wrote nothing").
The answer to a missing or wrong ``Version`` (400) is an ASSUMPTION (errors.py).
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from typing import Any, cast

from flask import Flask, Response, current_app, g, make_response, request

from simulators.ghl.errors import (
    ApiError,
    bad_request,
    bad_version,
    invalid_token,
    missing_scope,
    too_many_requests,
    unprocessable,
    wrong_location,
)
from simulators.ghl.faults import error_body
from simulators.ghl.sim import GhlSim
from simulators.ghl.state import Location
from simulators.ghl.validation import BodyRule

ADMIN_PREFIX = "/_sim/"
#: Routes no Bearer token, rate limit or counter applies to: admin, OAuth token and consent.
UNGATED_PREFIXES = (ADMIN_PREFIX, "/oauth/", "/v2/oauth/")
_RULE_ARG = re.compile(r"<(?:\w+:)?(\w+)>")


def current_sim() -> GhlSim:
    return cast(GhlSim, current_app.extensions["ghl_sim"])


def current_location() -> Location:
    """The location of the request's token."""
    return current_sim().location(g.grant.location_id)


def route_template() -> str:
    """``"GET /contacts/{contactId}"``: the request's method and path template."""
    if request.url_rule is None:
        return f"{request.method} <unmatched>"

    def camel(match: re.Match[str]) -> str:
        head, *rest = match.group(1).split("_")
        return "{" + head + "".join(part.title() for part in rest) + "}"

    return f"{request.method} {_RULE_ARG.sub(camel, request.url_rule.rule)}"


def json_body() -> dict[str, Any]:
    """The JSON object sent (``{}`` when none); 400 when it is not a JSON object."""
    if "json_body" not in g:
        if not request.get_data():
            g.json_body = {}
        else:
            body = request.get_json(force=True, silent=True)
            if not isinstance(body, dict):
                raise bad_request("Request body must be a JSON object")
            g.json_body = body
    return cast(dict[str, Any], g.json_body)


def validated(rule: BodyRule) -> dict[str, Any]:
    """The body, or 422 with every message ``rule`` finds in it."""
    body = json_body()
    errors = rule.check(body)
    if errors:
        raise unprocessable(errors)
    return body


def required_location_id() -> str:
    """The ``locationId`` query parameter, or 422 when it is missing."""
    location_id = request.args.get("locationId")
    if not location_id:
        raise unprocessable(["locationId should not be empty"])
    return location_id


def _bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def install_gate(app: Flask, sim: GhlSim) -> None:
    """Register the before/after hooks on ``app``; admin and OAuth routes pass untouched."""

    @app.before_request
    def arrive() -> None:
        if request.path.startswith(UNGATED_PREFIXES):
            return
        sim.record_arrival(route_template())
        if sim.config.down:
            raise ApiError(503, error_body(503))
        grant = sim.grant_for(_bearer_token())
        if grant is None:
            raise invalid_token()
        g.grant = grant
        g.rate = sim.admit(grant.location_id)
        if not g.rate.allowed:
            raise too_many_requests()
        if sim.config.latency_ms:
            time.sleep(sim.config.latency_ms / 1000)
        status = sim.draw_server_error()
        if status:
            raise ApiError(status, error_body(status))

    @app.after_request
    def depart(response: Response) -> Response:
        if request.path.startswith(UNGATED_PREFIXES):
            return response
        sim.record_answer(response.status_code)
        rate = g.get("rate")
        if rate is not None:
            response.headers.update(rate.headers(with_retry_after=sim.config.send_retry_after))
        return response


def endpoint(scope: str, version: str, *, write: bool = False) -> Callable[..., Any]:
    """Guard a view: ``Version`` must equal ``version`` and the token must hold ``scope``.

    ``write``: the view changes state, so its success may be answered 504 instead.
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def guarded(**kwargs: Any) -> Response:
            sim = current_sim()
            if request.headers.get("Version") != version:
                raise bad_version(version)
            if scope not in g.grant.scopes:
                raise missing_scope()
            claimed = (request.args.get("locationId"), json_body().get("locationId"))
            if any(lid and lid != g.grant.location_id for lid in claimed):
                raise wrong_location()
            with sim.lock:
                response = make_response(view(**kwargs))
                if write and response.status_code < 300 and sim.draw_lost_answer():
                    raise ApiError(504, error_body(504))
            return response

        return guarded

    return decorate
