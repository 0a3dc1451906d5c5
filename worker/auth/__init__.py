"""Credentials that stay valid: OAuth refresh, PIT rotation, the "location paused" state.

- ``store``: the location's credentials in Redis, Fernet-encrypted (``crypto``),
  with a plain summary and a version that grows at every write.
- ``provider``: the GHL client's token source; refreshes OAuth tokens before
  they expire and once after a 401, under a Redis lock (one process refreshes,
  the others use its pair); picks up a rotation from the next call.
- ``pause``: after a 401 that persists (or a refused refresh), no call is sent
  for the location until the credentials change; its events wait and retry.
- ``decide``: the pipeline's retry / dead-letter answer to credential failures.
- ``bootstrap``, ``manage``, ``report``: worker start-up, the ``toky-ghl auth``
  commands, and what status shows (never a token). See docs/AUTH.md.
"""

from worker.auth.errors import (
    AuthError,
    AuthUnavailable,
    CredentialsMissing,
    CredentialsRefused,
    LocationPaused,
    UndecryptableCredentials,
)
from worker.auth.provider import TokenProvider

__all__ = [
    "AuthError", "AuthUnavailable", "CredentialsMissing", "CredentialsRefused",
    "LocationPaused", "TokenProvider", "UndecryptableCredentials",
]
