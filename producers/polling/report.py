"""What one poll did: a report per list read, and the error of each list that failed.

The Toky poller (``producers.poller.Poller``) and the GHL → Toky mirror
(``producers.mirror.MirrorPoller``) both answer a ``PollReport``; ``run_poller``
prints its ``text()`` and records its counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from producers.polling.sink import Counts


@dataclass
class PassReport:
    """What one read of a list did: pages and rows read, event counts, the new mark.

    ``echoes``: rows left out as the other direction's own writes (the Toky contacts
    the mirror wrote, the GHL contacts toky-ghl wrote); ``shows_echoes``: the text
    names them even when there were none (the mirror's read, where they are expected).
    """

    name: str
    pages: int = 0
    records: int = 0
    counts: Counts = field(default_factory=Counts)
    mark: datetime | None = None
    echoes: int = 0
    shows_echoes: bool = False

    def text(self) -> str:
        text = f"{self.name}: {self.pages} pages, {self.records} records, {self.counts.text()}"
        shown = self.echoes or self.shows_echoes
        return f"{text}, {self.echoes} echoes skipped" if shown else text


@dataclass
class PollReport:
    """One poll: a report per list read, and the error of each that failed."""

    passes: list[PassReport] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def counts(self) -> Counts:
        total = Counts()
        for report in self.passes:
            total.add(report.counts)
        return total

    @property
    def echoes(self) -> int:
        return sum(report.echoes for report in self.passes)

    def text(self) -> str:
        parts = [p.text() for p in self.passes]
        parts += [f"{name}: FAILED ({error})" for name, error in self.failures.items()]
        return "; ".join(parts) or "nothing read"
