"""Fixtures of the unit tests: the GHL simulator over HTTP and the fake, side by side.

``any_ghl`` runs a test twice: against ``FakeGhl`` (in memory) and against
``SimGhl`` (the real ``GhlClient`` over HTTP to the simulator), so one set of
scenarios checks that the fake assumes nothing the simulator does not do.
"""

from __future__ import annotations

import pytest

from tests.unit.fake_ghl import FakeGhl
from tests.unit.sim_ghl import SimGhl, SimServer


@pytest.fixture(scope="session")
def sim_server():
    server = SimServer()
    yield server
    server.stop()


@pytest.fixture
def sim_ghl(sim_server: SimServer) -> SimGhl:
    """The simulator, emptied, behind the real client (duplicates refused)."""
    return sim_server.fresh()


@pytest.fixture(params=["fake", "sim"])
def any_ghl(request: pytest.FixtureRequest) -> FakeGhl | SimGhl:
    """The fake, then the simulator behind the real client."""
    if request.param == "fake":
        return FakeGhl()
    return request.getfixturevalue("sim_ghl")
