"""``TokenSource``: what the GHL client and the pipeline need of one location's credentials.

Met by ``worker.auth.provider.TokenProvider`` (mypy checks it where the runtime is
built). The client calls it for the token before every request; the pipeline reads the
pause probe with the delivery's first script (``probe_keys``, ``check_probed``,
``prime``/``unprime``), checks a pause (``check_not_paused``) and asks for newer
credentials after a 401 (``after_unauthorized``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from worker.auth.pause import Pause


class TokenSource(Protocol):
    @property
    def location_id(self) -> str: ...

    def __call__(self) -> str:
        """The current access token (raises ``worker.auth.errors.AuthError``)."""
        ...

    def check_not_paused(self) -> None: ...
    def check_probed(self, version: int | None, pause: Pause | None) -> None: ...
    def probe_keys(self) -> tuple[str, str]: ...  # (summary hash, its pause field)
    def prime(self, version: int | None, pause: Pause | None) -> None: ...
    def unprime(self) -> None: ...
    def after_unauthorized(self, message: str, used: str | None = None) -> str: ...
