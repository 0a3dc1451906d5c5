"""Encryption at rest of the stored credentials: Fernet (AES-128-CBC + HMAC-SHA256).

``TOKEN_ENCRYPTION_KEY`` holds one Fernet key, or several separated by commas to
change keys without downtime: the first encrypts, every one decrypts
(``MultiFernet``). Make a key with ``toky-ghl auth new-key``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from toky_ghl.errors import ConfigError
from toky_ghl.logs import register_secrets
from worker.auth.errors import UndecryptableCredentials

if TYPE_CHECKING:
    from toky_ghl.settings import Settings

KEY_VARIABLE = "TOKEN_ENCRYPTION_KEY"


def new_key() -> str:
    """A fresh random Fernet key (url-safe base64 text)."""
    return Fernet.generate_key().decode()


class TokenCipher:
    """Encrypts and decrypts JSON objects; never shows the key in ``repr`` or errors."""

    def __init__(self, keys: str) -> None:
        parts = [p.strip() for p in keys.split(",") if p.strip()]
        if not parts:
            raise ConfigError(f"{KEY_VARIABLE} is empty")
        register_secrets(parts)
        try:
            self._fernet = MultiFernet([Fernet(p.encode()) for p in parts])
        except ValueError:
            raise ConfigError(f"{KEY_VARIABLE} is not a valid Fernet key") from None

    def __repr__(self) -> str:
        return "TokenCipher(keys=***)"

    @classmethod
    def from_settings(cls, settings: Settings, *, why: str) -> TokenCipher:
        """The cipher of ``settings.token_encryption_key``; ConfigError naming the variable
        (and ``why`` it is needed) when unset."""
        if not settings.token_encryption_key:
            raise ConfigError(f"{KEY_VARIABLE} must be set: {why} "
                              "(make a key with `toky-ghl auth new-key`)")
        return cls(settings.token_encryption_key)

    def encrypt(self, data: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(data, separators=(",", ":")).encode())

    def decrypt(self, blob: bytes | str) -> dict[str, Any]:
        """The object in ``blob``; ``UndecryptableCredentials`` when no key fits."""
        try:
            return cast(dict[str, Any], json.loads(self._fernet.decrypt(blob)))
        except (InvalidToken, ValueError):
            raise UndecryptableCredentials(
                f"the GHL credentials stored in Redis do not decrypt with {KEY_VARIABLE}: the key "
                "is wrong or was changed (put the old key after the new one, comma-separated, "
                "or store the credentials again with `toky-ghl auth login` / `auth rotate`)"
            ) from None
