"""Read NDJSON events from a stream, validate each line, queue the valid ones in batches.

Streaming: one line in memory at a time, plus one batch of accepted events.
Blank lines are skipped (they still count for line numbers). Invalid lines
are reported through ``on_invalid(line_number, reason)`` and never queued.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from contract import strict_json
from contract.events import Event, InvalidEvent, validate_event
from producers.queue import DEFAULT_BATCH_SIZE, EventPublisher

PROGRESS_EVERY_LINES = 10_000


@dataclass
class EnqueueSummary:
    """Counts so far; ``valid`` = events accepted (queued + repeats, or checked in a dry run)."""

    lines: int = 0
    valid: int = 0
    queued: int = 0
    repeats: int = 0
    invalid: int = 0
    dry_run: bool = False

    def text(self) -> str:
        if self.dry_run:
            return f"valid {self.valid}, invalid {self.invalid} (dry run: nothing queued)"
        return f"queued {self.queued}, repeats {self.repeats}, invalid {self.invalid}"


def parse_line(raw: bytes | str) -> Event:
    """One NDJSON line as an accepted event; ``InvalidEvent`` says why not."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidEvent(f"not valid UTF-8: {exc.reason} at byte {exc.start + 1}") from None
    try:
        obj = strict_json.loads(raw)
    except json.JSONDecodeError as exc:
        raise InvalidEvent(f"not valid JSON: {exc.msg} at column {exc.colno}") from None
    except ValueError as exc:
        raise InvalidEvent(f"not valid JSON: {exc}") from None
    return validate_event(obj)


class Enqueuer:
    """Validates lines and queues the valid ones through ``publisher``.

    Accepted events are published ``publisher.batch_size`` at a time.
    ``publisher=None`` is a dry run: validate only. ``on_invalid(line, reason)``
    hears of every invalid line; ``on_progress(summary)`` every
    ``progress_every_lines`` lines. ``summary`` stays readable if ``run``
    raises (e.g. Redis went away): it counts what was queued before.
    """

    def __init__(
        self,
        publisher: EventPublisher | None,
        *,
        on_invalid: Callable[[int, str], None],
        on_progress: Callable[[EnqueueSummary], None] | None = None,
        progress_every_lines: int = PROGRESS_EVERY_LINES,
    ) -> None:
        self.publisher = publisher
        self.on_invalid = on_invalid
        self.on_progress = on_progress
        self.progress_every_lines = progress_every_lines
        self.batch_size = publisher.batch_size if publisher else DEFAULT_BATCH_SIZE
        self.summary = EnqueueSummary(dry_run=publisher is None)

    def run(self, lines: Iterable[bytes | str]) -> EnqueueSummary:
        batch: list[Event] = []
        for number, raw in enumerate(lines, start=1):
            self.summary.lines = number
            if number == 1:  # a byte order mark some editors write
                if isinstance(raw, str):
                    raw = raw.removeprefix("\ufeff")
                else:
                    raw = raw.removeprefix(b"\xef\xbb\xbf")
            if raw.strip():
                self._take(number, raw, batch)
            if len(batch) >= self.batch_size:
                self._flush(batch)
            if self.on_progress and number % self.progress_every_lines == 0:
                self.on_progress(self.summary)
        self._flush(batch)
        return self.summary

    def _take(self, number: int, raw: bytes | str, batch: list[Event]) -> None:
        try:
            event = parse_line(raw)
        except InvalidEvent as exc:
            self.summary.invalid += 1
            self.on_invalid(number, exc.reason)
            return
        self.summary.valid += 1
        if self.publisher is not None:
            batch.append(event)

    def _flush(self, batch: list[Event]) -> None:
        if not batch or self.publisher is None:
            return
        result = self.publisher.publish(batch)
        self.summary.queued += result.queued
        self.summary.repeats += result.repeats
        batch.clear()
