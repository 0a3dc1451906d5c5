"""``create_app(sim)``: the Flask app serving a ``GhlSim`` like GHL's API v2."""

from __future__ import annotations

from flask import Flask, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import MethodNotAllowed, NotFound

from simulators.ghl import (
    routes_admin,
    routes_appointments,
    routes_children,
    routes_contacts,
    routes_engagement,
    routes_locations,
    routes_oauth,
    routes_users,
)
from simulators.ghl.errors import ApiError, no_route
from simulators.ghl.gate import install_gate
from simulators.ghl.sim import GhlSim

_BLUEPRINTS = (routes_contacts.bp, routes_children.bp, routes_appointments.bp, routes_users.bp,
               routes_engagement.bp, routes_locations.bp, routes_admin.bp,
               routes_oauth.bp)


def create_app(sim: GhlSim) -> Flask:
    """A WSGI app answering as GHL would, from ``sim``'s state; admin routes under ``/_sim/``."""
    app = Flask(__name__, static_folder=None)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["ghl_sim"] = sim
    install_gate(app, sim)
    for blueprint in _BLUEPRINTS:
        app.register_blueprint(blueprint)

    @app.errorhandler(ApiError)
    def api_error(error: ApiError) -> ResponseReturnValue:
        return error.body, error.status

    @app.errorhandler(NotFound)
    @app.errorhandler(MethodNotAllowed)
    def unknown_route(_error: Exception) -> ResponseReturnValue:
        error = no_route(request.method, request.path)
        return error.body, error.status

    return app
