"""Admin routes of the Toky simulator (``/_sim/...``, no auth): inspect, reset, add records.

POST bodies are the keyword arguments of the matching ``TokySim`` helper, e.g.
``POST /_sim/calls {"from_number": "+15125550101", "to_number": "+15125550000",
"disposition_code": 487}``. Faults: ``POST /_sim/faults {"path": "/cdrs",
"status": 503, "times": 2, "retry_after_s": 1}``. Forms served where sources
disagree: ``POST /_sim/settings {"recording_key": "record_url", "filter_times": "ignore"}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue

from simulators.toky.demo import seed_demo
from simulators.toky.state import SimError, TokySim


def _kwargs() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise SimError(400, "the body must be a JSON object of keyword arguments")
    return body


def _call(helper: Callable[..., Any], *args: object) -> dict[str, Any]:
    try:
        return cast(dict[str, Any], helper(*args, **_kwargs()))
    except TypeError as exc:  # a missing or unknown keyword argument
        raise SimError(400, str(exc)) from None


def admin_blueprint(sim: TokySim) -> Blueprint:
    admin = Blueprint("toky_sim_admin", __name__, url_prefix="/_sim")
    adders: dict[str, Callable[..., Any]] = {
        "agents": sim.add_agent, "calls": sim.add_call, "sms": sim.add_sms,
        "voicemails": sim.add_voicemail, "contacts": sim.add_contact,
    }

    @admin.get("/state")
    def state() -> ResponseReturnValue:
        return jsonify(sim.snapshot())

    @admin.get("/stats")
    def stats() -> ResponseReturnValue:
        return jsonify(sim.stats())

    @admin.post("/reset")
    def reset() -> ResponseReturnValue:
        sim.reset()
        return jsonify({"reset": True})

    @admin.post("/seed-demo")
    def seed() -> ResponseReturnValue:
        return jsonify(seed_demo(sim))

    @admin.post("/<kind>")
    def add(kind: str) -> ResponseReturnValue:
        if kind not in adders:
            raise SimError(404, f"no such record kind: {kind} (known: {', '.join(adders)})")
        return jsonify(_call(adders[kind])), 201

    @admin.put("/contacts/<phone>")
    def update_contact(phone: str) -> ResponseReturnValue:
        return jsonify(_call(sim.update_contact, phone))

    @admin.post("/settings")
    def settings() -> ResponseReturnValue:
        return jsonify(_call(sim.configure))

    @admin.post("/faults")
    def faults() -> ResponseReturnValue:
        _call(sim.fail_next)
        return jsonify({"armed": True}), 201

    return admin
