"""OAuth routes: ``POST /oauth/token``, the consent page, and ``/_sim/oauth/...`` to steer it.

``GET /v2/oauth/chooselocation`` stands for the marketplace's consent page: it
approves at once and redirects to ``redirect_uri?code=...`` (point
``GHL_OAUTH_AUTHORIZE_URL`` at it). None of these routes is rate limited or
counted in ``/_sim/stats``; ``/_sim/oauth/stats`` counts grants instead.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, redirect, request
from flask.typing import ResponseReturnValue

from simulators.ghl.errors import ApiError, bad_request, unprocessable
from simulators.ghl.faults import error_body
from simulators.ghl.gate import current_sim, json_body

bp = Blueprint("ghl_oauth", __name__)

FORM = "application/x-www-form-urlencoded"


@bp.post("/oauth/token")
def token() -> ResponseReturnValue:
    """The token endpoint: form-encoded, as the official spec says (503 while ``down`` or
    ``token_endpoint_down``)."""
    sim = current_sim()
    if sim.config.down or sim.config.token_endpoint_down:
        raise ApiError(503, error_body(503))
    if request.mimetype != FORM:
        raise unprocessable([f"the body must be {FORM}"])
    sim = current_sim()
    with sim.lock:
        return sim.oauth.token(request.form.to_dict(), sim.clock(), sim.config.access_token_ttl_s)


@bp.get("/v2/oauth/chooselocation")
def choose_location() -> ResponseReturnValue:
    """Consent given at once: a code for the app's location, sent to ``redirect_uri``."""
    args = request.args
    if args.get("response_type") != "code" or not args.get("redirect_uri"):
        raise bad_request("response_type=code and redirect_uri are required")
    sim = current_sim()
    try:
        with sim.lock:
            code = sim.oauth.issue_code(args.get("client_id", ""),
                                        args.get("scope", "").split() or None)
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    separator = "&" if "?" in args["redirect_uri"] else "?"
    return redirect(f"{args['redirect_uri']}{separator}{urlencode({'code': code})}", code=302)


@bp.post("/_sim/oauth/clients")
def register_client() -> ResponseReturnValue:
    """Body: ``{"client_id", "client_secret", "location_id", "scopes"}`` (list or string)."""
    body = json_body()
    scopes = body.get("scopes") or []
    sim = current_sim()
    try:
        with sim.lock:
            app = sim.oauth.register_app(body.get("client_id", ""), body.get("client_secret", ""),
                                         body.get("location_id", ""),
                                         scopes.split() if isinstance(scopes, str) else scopes)
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    return {"client_id": app.client_id, "location_id": app.location_id}, 201


@bp.post("/_sim/oauth/codes")
def issue_code() -> ResponseReturnValue:
    """Body: ``{"client_id", "scopes"?}``; answers ``{"code"}`` as a consent would."""
    body = json_body()
    sim = current_sim()
    try:
        with sim.lock:
            code = sim.oauth.issue_code(body.get("client_id", ""), body.get("scopes") or None)
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    return {"code": code}, 201


@bp.post("/_sim/oauth/revoke")
def revoke() -> ResponseReturnValue:
    """Body (optional): ``{"token"}``; expires that token now, else every OAuth access token."""
    sim = current_sim()
    with sim.lock:
        return {"revoked": sim.oauth.revoke(sim.clock(), json_body().get("token"))}


@bp.get("/_sim/oauth/stats")
def stats() -> ResponseReturnValue:
    sim = current_sim()
    with sim.lock:
        return sim.oauth.snapshot()
