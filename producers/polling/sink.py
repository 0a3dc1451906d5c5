"""Validate produced events and queue the valid ones; count and log the refused ones."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from contract.events import Event, InvalidEvent, validate_event
from producers.queue import Publisher
from toky_ghl.logs import get_logger

log = get_logger(__name__)


@dataclass
class Counts:
    """Events queued, repeats (already queued before) and invalid (refused by the schema)."""

    queued: int = 0
    repeats: int = 0
    invalid: int = 0

    def add(self, other: Counts) -> None:
        self.queued += other.queued
        self.repeats += other.repeats
        self.invalid += other.invalid

    def text(self) -> str:
        return f"{self.queued} queued, {self.repeats} repeats, {self.invalid} invalid"


class EventSink:
    """Everything the poller produces goes through here: ``validate_event``, then the
    publisher (``producers.queue.EventPublisher``, batched and deduplicated by id).
    """

    def __init__(self, publisher: Publisher, *, source: str = "poller") -> None:
        self.publisher = publisher
        self.source = source
        self.total = Counts()

    def submit(self, events: Iterable[dict[str, Any]]) -> Counts:
        """Queue ``events`` (raw, not yet validated); the counts of this call."""
        counts = Counts()
        accepted: list[Event] = []
        for raw in events:
            try:
                accepted.append(validate_event(raw))
            except InvalidEvent as exc:
                self.reject(str(raw.get("id")), str(raw.get("type")), exc.reason)
                counts.invalid += 1
        if accepted:
            result = self.publisher.publish(accepted)
            counts.queued, counts.repeats = result.queued, result.repeats
        self.total.add(Counts(counts.queued, counts.repeats, 0))
        return counts

    def reject(self, event_id: str, event_type: str, reason: str) -> None:
        """Log a refused event with the reason and count it."""
        self.total.invalid += 1
        log.warning(f"{self.source}.invalid_event", event_id=event_id, type=event_type,
                    reason=reason)
