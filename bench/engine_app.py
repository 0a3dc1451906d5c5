"""The worker's Celery app with one more task, a no-op, for ``bench/engine.py``: what the
engine (durable pop, acknowledgement, Request, pool, trace, task events) costs per
message, without any of the pipeline's work."""

from __future__ import annotations

from worker.celery import app

NOOP_TASK = "toky_ghl.bench_noop"


@app.task(name=NOOP_TASK, acks_late=True)
def noop() -> None:
    """Nothing: the engine's work around it is what ``bench/engine.py`` measures."""
