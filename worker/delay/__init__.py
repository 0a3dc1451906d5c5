"""The delay store: every wait longer than a moment is parked here, never held.

- ``reasons``: why an event waits (its Redis keys are in ``worker.keys``);
- ``store``: ``DelayStore.park`` / ``release_due`` (atomic Lua);
- ``report``: small read-only functions (parked counts, oldest age) for ``status``
  and the metrics exporter;
- ``scheduler``: the loop that re-publishes what is due, gate-aware, at the budget's pace.
"""

from worker.delay.reasons import ParkReason
from worker.delay.store import DelayStore, Parked

__all__ = ["DelayStore", "ParkReason", "Parked"]
