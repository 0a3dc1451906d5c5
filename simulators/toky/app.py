"""The Toky simulator's HTTP API (Flask), served both at ``/`` and under ``/v1``.

So ``TOKY_API_BASE`` may be the simulator's URL with or without ``/v1``.
Error bodies are ``{"error": "..."}``: our assumption, Toky does not document them.

Sources (reference/toky-api.md, which cites Toky's reference at
developer.toky.co, Make's and Unified.to's Toky pages and third-party clients):
the ``X-Toky-Key`` header (several working clients); lists paged by ``limit``
(max 500) and ``offset`` in ``{"count", "next", "results"}``, newest first;
the ``filter`` by date on /cdrs and /sms (listing.py); ``GET /recordings/{callid}``
(confirmed path; the URL's key UNCONFIRMED, served under ``sim.recording_key``);
webhooks registered one event per ``POST /webhooks {"event", "hook_url"}``
(body from third-party code). Every name comes from ``clients.toky.paths``,
where what is UNCONFIRMED is flagged.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue

from clients.toky import paths
from simulators.toky.admin import admin_blueprint
from simulators.toky.listing import BadQuery, filter_predicate, page
from simulators.toky.state import SimError, TokySim

API_PREFIX = "/v1"


def error(status: int, message: str,
          headers: dict[str, Any] | None = None) -> tuple[Response, int, dict[str, Any]]:
    return jsonify({"error": message}), status, headers or {}


def api_blueprint(sim: TokySim) -> Blueprint:
    api = Blueprint("toky_api", __name__)

    def listing(rows: list[dict[str, Any]], created_key: str | None = None) -> Response:
        if created_key:
            keep = filter_predicate(request.args.get(paths.FILTER_PARAM), sim.filter_times)
            rows = [row for row in rows if keep(row[created_key])]
        return jsonify(page(rows, request.args.to_dict(), request.base_url))

    @api.before_request
    def count_fault_and_authenticate() -> ResponseReturnValue | None:
        sim.count_request(request.path, request.method)
        api_path = request.path.removeprefix(API_PREFIX) or "/"
        fault = sim.faults.take(api_path)
        if fault:
            hint = {"Retry-After": str(fault.retry_after_s)} if fault.retry_after_s else {}
            return error(fault.status, f"simulated fault {fault.status}", hint)
        sent = request.headers.get(paths.API_KEY_HEADER, "")
        if not hmac.compare_digest(sent.encode(), sim.api_key.encode()):
            # The 401 body shape is our assumption; Toky does not document it.
            return error(401, "Invalid API key")
        return None

    @api.get(paths.AGENTS)
    def agents() -> ResponseReturnValue:
        return listing(sim.rows("agents", "created_at"))

    @api.get(paths.CDRS)
    def cdrs() -> ResponseReturnValue:
        return listing(sim.rows("cdrs", paths.CDR_CREATED_KEY), paths.CDR_CREATED_KEY)

    @api.get("/recordings/<callid>")
    def recording(callid: str) -> ResponseReturnValue:
        url = sim.recording_url(callid)
        if not url:  # unknown call or no recording: 404 (our assumption)
            return error(404, f"no recording for call {callid}")
        return jsonify({sim.recording_key: url})

    @api.get(paths.SMS)
    def sms() -> ResponseReturnValue:
        return listing(sim.rows("sms", paths.SMS_CREATED_KEY), paths.SMS_CREATED_KEY)

    @api.get(paths.VOICEMAILS)
    def voicemails() -> ResponseReturnValue:
        return listing(sim.rows("voicemails", paths.VOICEMAIL_CREATED_KEY))

    @api.get(paths.CONTACTS)
    def contacts() -> ResponseReturnValue:
        return listing(sim.contacts())

    @api.get(f"{paths.CONTACTS}/<phone>")
    def get_contact(phone: str) -> ResponseReturnValue:
        found = sim.contact(phone)
        return jsonify(found) if found else error(404, f"no contact with phone {phone}")

    @api.post(paths.CONTACTS)
    def create_contact() -> ResponseReturnValue:
        # A phone already in the directory answers 409 (Toky allows one contact per number).
        return jsonify(sim.add_contact(**{"phone": "", **contact_fields()})), 201

    @api.put(f"{paths.CONTACTS}/<phone>")
    def update_contact(phone: str) -> ResponseReturnValue:
        return jsonify(sim.update_contact(phone, **contact_fields()))

    @api.get(paths.WEBHOOKS)
    def webhooks() -> ResponseReturnValue:
        return listing(sim.webhooks())

    @api.post(paths.WEBHOOKS)
    def register_webhook() -> ResponseReturnValue:
        body = json_object()
        hook = sim.add_webhook(str(body.get(paths.WEBHOOK_EVENT_KEY, "")),
                               str(body.get(paths.WEBHOOK_URL_KEY, "")))
        return jsonify({paths.WEBHOOK_ID_KEY: hook[paths.WEBHOOK_ID_KEY]}), 201

    @api.delete(f"{paths.WEBHOOKS}/<hook_id>")
    def delete_webhook(hook_id: str) -> ResponseReturnValue:
        sim.delete_webhook(hook_id)
        return "", 204

    return api


def contact_fields() -> dict[str, str]:
    """The body's contact fields as strings; other fields are ignored (our assumption)."""
    return {k: "" if v is None else str(v) for k, v in json_object().items()
            if k in paths.CONTACT_FIELDS}


def json_object() -> dict[str, Any]:
    """The request's JSON object body; SimError 400 otherwise."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise SimError(400, "the body must be a JSON object")
    return body


def create_app(sim: TokySim) -> Flask:
    """The simulator as a WSGI app: the API at ``/`` and ``/v1``, admin routes at ``/_sim``."""
    app = Flask("toky_sim")
    app.config["TOKY_SIM"] = sim
    api = api_blueprint(sim)
    app.register_blueprint(api)
    app.register_blueprint(api, url_prefix=API_PREFIX, name="toky_api_v1")
    app.register_blueprint(admin_blueprint(sim))

    @app.errorhandler(SimError)
    def sim_error(exc: SimError) -> ResponseReturnValue:
        return error(exc.status, exc.message)

    @app.errorhandler(BadQuery)
    def bad_query(exc: BadQuery) -> ResponseReturnValue:
        return error(400, str(exc))

    @app.errorhandler(404)
    def not_found(_exc: Exception) -> ResponseReturnValue:
        return error(404, f"no such path: {request.path}")

    @app.errorhandler(405)
    def not_allowed(_exc: Exception) -> ResponseReturnValue:
        return error(405, f"{request.method} is not allowed on {request.path}")

    return app
