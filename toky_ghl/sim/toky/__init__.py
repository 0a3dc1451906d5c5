"""Toky simulator: ``TokySim`` (in-memory account), ``create_app`` (Flask), ``seed_demo``.

Faithful to ../shared/reference/toky-api.md; every path and field name comes
from ``producers.toky.paths``. Run it with ``python -m toky_ghl.sim.toky``.
"""

from toky_ghl.sim.toky.app import create_app
from toky_ghl.sim.toky.demo import seed_demo
from toky_ghl.sim.toky.state import SimError, TokySim

__all__ = ["SimError", "TokySim", "create_app", "seed_demo"]
