"""Helpers for tests that drive a ``GhlSim`` in process (Flask's test client)."""

from __future__ import annotations

from typing import Any

from werkzeug.test import TestResponse

from simulators.ghl.app import create_app
from simulators.ghl.config import SimConfig
from simulators.ghl.errors import CALENDARS_VERSION, CONTACTS_VERSION
from simulators.ghl.sim import GhlSim

ALL_SCOPES = ("contacts.readonly", "contacts.write", "calendars/events.readonly",
              "calendars/events.write", "users.readonly", "locations.readonly",
              "locations/customFields.readonly")


class FakeClock:
    """A clock for ``GhlSim(clock=...)``: epoch seconds that move only when told."""

    def __init__(self, start_s: float = 1_800_000_000.0) -> None:
        self.now_s = start_s

    def __call__(self) -> float:
        return self.now_s

    def advance(self, seconds: float) -> None:
        self.now_s += seconds


class GhlTestClient:
    """Calls the simulator as a GHL client would: Bearer token and the right Version.

    ``version`` defaults to the contacts Version, or the calendars one for paths
    under ``/calendars/``; pass ``version=None`` to send no Version header, and
    ``token=None`` to send no Authorization header.
    """

    _DEFAULT = object()

    def __init__(self, sim: GhlSim, token: str | None) -> None:
        self.sim = sim
        self.token = token
        self.flask = create_app(sim).test_client()

    def call(self, method: str, path: str, json: Any = None, *, query: dict[str, Any] | None = None,
             token: Any = _DEFAULT, version: Any = _DEFAULT,
             headers: dict[str, Any] | None = None) -> TestResponse:
        token = self.token if token is self._DEFAULT else token
        if version is self._DEFAULT:
            version = CALENDARS_VERSION if path.startswith("/calendars/") else CONTACTS_VERSION
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if version is not None:
            sent["Version"] = version
        return self.flask.open(path, method=method, json=json, query_string=query, headers=sent)

    def get(self, path: str, **kw: Any) -> TestResponse:
        return self.call("GET", path, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> TestResponse:
        return self.call("POST", path, json, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> TestResponse:
        return self.call("PUT", path, json, **kw)

    def delete(self, path: str, json: Any = None, **kw: Any) -> TestResponse:
        return self.call("DELETE", path, json, **kw)


TEST_TOKEN = "tok"  # a token only the in-process simulator knows


def make_api(location_id: str, *, token: str = TEST_TOKEN, clock: FakeClock | None = None,
             scopes: tuple[str, ...] | str = ALL_SCOPES, **config: Any) -> GhlTestClient:
    """A fresh simulator (``SimConfig(**config)``, a ``FakeClock`` unless given) where
    ``token`` holds ``scopes`` for ``location_id``, and a client sending that token."""
    sim = GhlSim(SimConfig(**config), clock=clock or FakeClock())
    sim.add_token(token, location_id, scopes)
    return GhlTestClient(sim, token)
