"""Toky simulator: ``TokySim`` (in-memory account), ``create_app`` (Flask), ``seed_demo``.

Faithful to ../shared/reference/toky-api.md; every path and field name comes
from ``clients.toky.paths``. Run it with ``python -m simulators.toky``.
"""

from simulators.toky.app import create_app
from simulators.toky.demo import seed_demo
from simulators.toky.state import SimError, TokySim

__all__ = ["SimError", "TokySim", "create_app", "seed_demo"]
