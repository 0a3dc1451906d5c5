"""The "location paused" state: after GHL refused the credentials for good, no call is
sent for the location until the credentials change (or ``toky-ghl auth resume``).

A pause names the credentials ``version`` it was set for: it holds only while
that version is current, so any new rotation, login or refresh lifts it (the
store also deletes it when it writes new credentials).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Pause:
    """``reason``: why (no secret in it); ``version``: the refused credentials' version
    label; ``at_s``: when, epoch seconds."""

    reason: str
    version: str
    at_s: float

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes | str | None) -> Pause | None:
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return cls(str(data["reason"]), str(data["version"]), float(data["at_s"]))
        except (ValueError, KeyError, TypeError):
            return cls("unreadable pause record (run `toky-ghl auth resume`)", "?", 0.0)

    def holds_for(self, version: str) -> bool:
        return self.version == version
