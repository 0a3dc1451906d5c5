"""Building blocks for the sync tests: a context over fakeredis and the fake GHL,
and the contract's sample events, validated as the pipeline hands them over."""

from __future__ import annotations

import json
from typing import Any

import fakeredis
import structlog

from contract.events import validate_event
from tests.unit.events_examples import SAMPLES
from tests.unit.fake_ghl import FakeGhl
from toky_ghl.settings import Settings
from worker.fieldmap import FieldMap, load_field_map, parse_field_map
from worker.sync import HANDLERS
from worker.sync.context import SyncContext
from worker.sync.outcome import Outcome

CALENDAR_ID = "cal-1"


def make_context(
    *, client: FakeGhl | None = None, field_map: FieldMap | dict | None = None,
    redis: Any = None, **settings: Any,
) -> SyncContext:
    """A context with a fresh fake GHL and fakeredis; ``field_map`` a FieldMap or a raw
    map (validated); ``settings`` override ``Settings`` (calendar id set by default)."""
    if isinstance(field_map, dict):
        field_map = parse_field_map(field_map)
    settings.setdefault("ghl_calendar_id", CALENDAR_ID)
    settings.setdefault("key_prefix", "test")
    return SyncContext(
        client=client or FakeGhl(),
        redis=redis or fakeredis.FakeRedis(),
        settings=Settings(**settings),
        field_map=field_map or load_field_map(None),
        log=structlog.get_logger("test"),
    )


def samples() -> dict[str, dict]:
    """The contract's samples by event id, validated (phones E.164)."""
    events = [validate_event(json.loads(line))
              for line in SAMPLES.read_text().splitlines() if line.strip()]
    return {event["id"]: event for event in events}


def event(event_type: str, data: dict, *, occurred_at: str = "2026-11-02T12:00:00Z",
          event_id: str = "evt-1") -> dict:
    """A validated event of ``event_type`` with ``data``."""
    return validate_event({"id": event_id, "type": event_type, "occurred_at": occurred_at,
                           "data": data})


def apply(ev: dict, ctx: SyncContext) -> Outcome:
    """The event through its handler, as the pipeline calls it."""
    return HANDLERS[ev["type"]](ev, ctx)


def apply_counting(ev: dict, ctx: SyncContext) -> tuple[Outcome, list[str]]:
    """The outcome and the GHL calls the event cost."""
    before = len(ctx.client.calls)
    outcome = apply(ev, ctx)
    return outcome, ctx.client.calls[before:]
