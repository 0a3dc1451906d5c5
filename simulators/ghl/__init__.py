"""A local GHL (HighLevel API v2) simulator, faithful to ../shared/reference/ghl-api.md.

In process::

    sim = GhlSim(SimConfig(max_requests=10))
    sim.add_token("t", "loc", "contacts.readonly contacts.write")
    app = create_app(sim)          # any WSGI server, or app.test_client()

From a shell: ``python -m simulators.ghl --help``.
"""

from simulators.ghl.app import create_app
from simulators.ghl.config import SimConfig
from simulators.ghl.demo import DEMO_CALENDAR, DEMO_LOCATION, DEMO_TOKEN, seed_demo
from simulators.ghl.sim import GhlSim

__all__ = [
    "DEMO_CALENDAR", "DEMO_LOCATION", "DEMO_TOKEN", "GhlSim", "SimConfig", "create_app",
    "seed_demo",
]
