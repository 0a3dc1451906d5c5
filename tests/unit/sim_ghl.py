"""The GHL simulator over HTTP behind the REAL ``GhlClient``, with the fake's test controls.

``SimGhl`` is what ``FakeGhl`` is to the sync and pipeline tests (``calls``,
``payloads``, ``fail``, ``lose_answer``, ``count``, ``contacts``,
``contact_by_phone``, ``notes_of``, ``tasks_of``, ``allow_duplicates``), but
every request goes through ``clients.ghl.client.GhlClient`` to the simulator
served on loopback. Running one scenario against both keeps the fake honest:
it may not assume what the simulator (which cites GHL's sources) does not do.
"""

from __future__ import annotations

import copy
from typing import Any

from clients.ghl.api import Json
from clients.ghl.client import GhlClient
from simulators.ghl import GhlSim, SimConfig, create_app
from simulators.ghl.testing import ALL_SCOPES
from simulators.serve import RunningServer, serve_in_thread
from tests.unit.ghl_double import GhlDouble

LOCATION = "locSIMSIMSIMSIMSIMSI"
TOKEN = "sim-test-token"
CALENDARS = ("cal", "cal-1")


class SimServer:
    """One simulator served for a whole test session; ``fresh()`` empties it."""

    def __init__(self) -> None:
        self.sim = GhlSim(SimConfig())
        self.sim.add_token(TOKEN, LOCATION, ALL_SCOPES)
        self.server: RunningServer = serve_in_thread(create_app(self.sim), threads=8)

    def fresh(self) -> SimGhl:
        self.sim.reset()
        self.sim.set_allow_duplicates(LOCATION, False)
        for calendar in CALENDARS:
            self.sim.add_calendar(LOCATION, calendar)
        return SimGhl(self.sim, self.server.url)

    def stop(self) -> None:
        self.server.stop()


def _recorded_payload(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """What FakeGhl records as a call's payload: its last dict or list argument."""
    found = [a for a in args if isinstance(a, dict | list)]
    if found:
        return found[-1]
    return dict(kwargs) if kwargs else None


class SimGhl(GhlDouble):
    """The real client against the simulator, recording calls like ``FakeGhl``."""

    def __init__(self, sim: GhlSim, url: str) -> None:
        self.sim = sim
        self.client = GhlClient(base_url=url, token=TOKEN, location_id=LOCATION,
                                scopes=frozenset(ALL_SCOPES), limiter=None,
                                connect_timeout_s=5, read_timeout_s=10,
                                wire=True)  # the worker's HTTP path (worker/runtime.py)
        self._start_recording()

    @property
    def allow_duplicates(self) -> bool:
        return self.sim.location(LOCATION).allow_duplicates

    @allow_duplicates.setter
    def allow_duplicates(self, allowed: bool) -> None:
        self.sim.set_allow_duplicates(LOCATION, allowed)

    # -- what GHL holds ---------------------------------------------------------------

    def _objects(self, kind: str) -> dict[str, Json]:
        with self.sim.lock:
            return copy.deepcopy(getattr(self.sim.location(LOCATION), kind))

    @property  # (the fake keeps them as attributes; here a copy of the simulator's)
    def contacts(self) -> dict[str, Json]:  # type: ignore[override]
        return self._objects("contacts")

    @property  # (the fake keeps them as attributes; here a copy of the simulator's)
    def notes(self) -> dict[str, Json]:  # type: ignore[override]
        return self._objects("notes")

    @property  # (the fake keeps them as attributes; here a copy of the simulator's)
    def tasks(self) -> dict[str, Json]:  # type: ignore[override]
        return self._objects("tasks")

    @property
    def appointments(self) -> dict[str, Json]:
        return self._objects("appointments")

    # -- the client's methods, recorded -------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if name.startswith("_") or not callable(method):
            return method

        def recorded(*args: Any, **kwargs: Any) -> Any:
            self._enter(name, _recorded_payload(args, kwargs))
            return self._leave(name, method(*args, **kwargs))

        return recorded
