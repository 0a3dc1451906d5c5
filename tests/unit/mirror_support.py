"""Both simulators in process behind the real clients, fakeredis, and the GHL contact
source the mirror command wires (GHL client + the shared limiter, in memory)."""

from __future__ import annotations

from datetime import UTC, datetime

import fakeredis
import requests
import structlog

from clients.ghl.client import GhlClient
from producers.mirror.ghl_source import GhlContactChanges
from simulators.ghl.app import create_app as create_ghl_app
from simulators.ghl.config import SimConfig
from simulators.ghl.sim import GhlSim
from simulators.ghl.testing import ALL_SCOPES, TEST_TOKEN, FakeClock
from simulators.toky import TokySim
from simulators.toky import create_app as create_toky_app
from tests.unit.poller_support import WsgiAdapter, sim_client
from toky_ghl.settings import Settings
from worker.fieldmap import load_field_map
from worker.ratelimit import Limits, MemoryBackend, RateLimiter
from worker.sync.context import SyncContext

LOCATION = "loc-mirror"
PREFIX = "t"
#: The GHL simulator's fake clock starts here (FakeClock's default, 2027-01-15).
GHL_T0 = datetime.fromtimestamp(1_800_000_000, UTC)
SINCE = datetime(2027, 1, 1, tzinfo=UTC)


class World:
    """GHL and Toky simulators, their clients, one fakeredis."""

    def __init__(self, *, page_size: int = 100, limits: Limits | None = None) -> None:
        self.clock = FakeClock()
        limits = limits or Limits(1000, 1000, 100_000)  # GHL's, and so the limiter's
        self.ghl_sim = GhlSim(SimConfig(max_requests=limits.max_requests,
                                        interval_ms=limits.interval_ms,
                                        daily_max=limits.daily_max), clock=self.clock)
        self.ghl_sim.add_token(TEST_TOKEN, LOCATION, ALL_SCOPES)
        self.toky_sim = TokySim(api_key="sim-key-poller")
        self.redis = fakeredis.FakeRedis()
        session = requests.Session()
        session.mount("http://", WsgiAdapter(create_ghl_app(self.ghl_sim)))
        self.limiter = RateLimiter(MemoryBackend(now_ms=lambda: int(self.clock() * 1000)),
                                   limits)
        self.ghl = GhlClient(base_url="http://ghl.sim", token=TEST_TOKEN, location_id=LOCATION,
                             scopes=ALL_SCOPES, limiter=self.limiter, session=session,
                             max_inline_wait_ms=0)
        self.source = GhlContactChanges(self.ghl, page_size=page_size)
        self.toky = sim_client(create_toky_app(self.toky_sim))
        self.settings = Settings(key_prefix=PREFIX, ghl_location_id=LOCATION,
                                 mirror_ghl_to_toky=True)

    def add_ghl_contact(self, **fields) -> dict:
        contact = self.ghl_sim.add_contact(LOCATION, fields)
        self.clock.advance(1)
        return contact

    def edit_ghl_contact(self, contact_id: str, **fields) -> dict:
        from simulators.ghl.contacts import apply_fields

        with self.ghl_sim.lock:
            contact = self.ghl_sim.location(LOCATION).contacts[contact_id]
            apply_fields(contact, fields, self.clock())
        self.clock.advance(1)
        return dict(contact)

    def context(self) -> SyncContext:
        ctx = SyncContext(client=None, redis=self.redis, settings=self.settings,
                          field_map=load_field_map(None), log=structlog.get_logger("test"))
        ctx.toky = self.toky  # the handler's Toky client (the worker builds its own)
        return ctx

    def ghl_searches(self) -> int:
        return self.ghl_sim.stats_snapshot()["by_route"].get("POST /contacts/search", 0)
