"""Errors of ``worker.auth``: one root, a leaf per way the credentials can fail.

The runtime errors are ``GhlAuthError`` s raised by the client's token source
BEFORE any request is sent (so a create that meets one surely wrote nothing);
the pipeline turns them into a retry, a pause or a dead letter. None of them
ever carries a token, a refresh token or the client secret.
"""

from __future__ import annotations

from typing import Any

from clients.ghl.errors import GhlAuthError
from toky_ghl.errors import ConfigError


class AuthError(GhlAuthError):
    """Root of the credential errors met while a worker talks to GHL (nothing was sent)."""

    def _label(self) -> str:
        return "GHL credentials"


class CredentialsRefused(AuthError):
    """GHL refused the credentials for good: a 401 that persists after a refresh or a
    rotation, or ``/oauth/token`` refusing the client or the grant. Sending pauses."""


class AuthUnavailable(AuthError):
    """No usable token for now (the token endpoint failed or timed out, the refresh lock
    is held too long, or this worker cannot read the stored credentials): retry later.

    ``retry_after_ms``: how long to wait, in ms (None: the usual backoff).
    """

    def __init__(self, message: str, *, retry_after_ms: int | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after_ms = retry_after_ms


class SaveRefused(AuthUnavailable):
    """A credential write found that it no longer held the lock (held longer than its
    time to live) or that another writer stored a newer version: nothing was saved."""


class LocationPaused(AuthError):
    """Sending for ``location_id`` is paused after refused credentials; ``reason`` says why."""

    def __init__(self, location_id: str, reason: str, **kw: Any) -> None:
        super().__init__(f"sending to location {location_id} is paused: {reason}", **kw)
        self.location_id = location_id
        self.reason = reason


#: What to set when no credentials are anywhere (``CredentialsMissing``'s message, the
#: worker's start-up error and ``toky-ghl auth status``).
NO_CREDENTIALS = ("no GHL credentials: set GHL_TOKEN (a Private Integration Token), or "
                  "GHL_CLIENT_ID + GHL_CLIENT_SECRET with GHL_REFRESH_TOKEN or `toky-ghl auth "
                  "login`, or store a token with `toky-ghl auth rotate`")


class CredentialsMissing(ConfigError):
    """No credentials, stored or configured; the message says what to set or run."""


class UndecryptableCredentials(ConfigError):
    """The stored credentials do not decrypt with ``TOKEN_ENCRYPTION_KEY``."""
