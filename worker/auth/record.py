"""``Credentials``: what is stored (encrypted) for one location, and its plain summary.

``kind`` is ``"pit"`` (a Private Integration Token: ``access_token`` only, no
expiry) or ``"oauth"`` (an access token, its ``refresh_token`` and
``expires_at_s``, epoch seconds). ``version`` grows by one at every write, so a
process knows the credentials changed by reading one small Redis field.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

PIT = "pit"
OAUTH = "oauth"


@dataclass(frozen=True)
class Credentials:
    """One location's credentials. Secrets are kept out of ``repr``.

    ``source``: who wrote them (``"rotate"``, ``"login"``, ``"refresh"``, or
    ``"GHL_REFRESH_TOKEN"`` when seeded from that variable). ``after_401``: this pair
    came from a refresh forced by a 401 (a 401 on it again is final).
    ``updated_at_s`` / ``refreshed_at_s``: epoch seconds (None: never refreshed).
    """

    kind: str
    access_token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    expires_at_s: float | None = None
    scopes: tuple[str, ...] = ()
    location_id: str | None = None
    source: str = "rotate"
    version: int = 0
    updated_at_s: float = 0.0
    refreshed_at_s: float | None = None
    after_401: bool = False

    def __post_init__(self) -> None:
        if self.kind not in (PIT, OAUTH):
            raise ValueError(f"kind must be {PIT!r} or {OAUTH!r}, got {self.kind!r}")

    def needs_refresh(self, now_s: float, margin_s: float) -> bool:
        """True for OAuth credentials without an access token, or expiring within ``margin_s``."""
        if self.kind != OAUTH:
            return False
        return not self.access_token or (self.expires_at_s or 0.0) - margin_s <= now_s

    def with_(self, **changes: Any) -> Credentials:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["scopes"] = list(self.scopes)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Credentials:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["scopes"] = tuple(known.get("scopes") or ())
        return cls(**known)

    def summary(self) -> dict[str, str]:
        """The plain (unencrypted) fields kept beside the secret: no token in there."""
        return {
            "version": str(self.version), "kind": self.kind, "source": self.source,
            "expires_at_s": "" if self.expires_at_s is None else f"{self.expires_at_s:.3f}",
            "scopes": " ".join(self.scopes), "location_id": self.location_id or "",
            "updated_at_s": f"{self.updated_at_s:.3f}",
            "refreshed_at_s": "" if self.refreshed_at_s is None else f"{self.refreshed_at_s:.3f}",
        }
