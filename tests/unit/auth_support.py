"""Building blocks for the credential tests: settings, fakeredis, a provider, GHL answers."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs

import fakeredis
from cryptography.fernet import Fernet

from toky_ghl.settings import Settings
from worker.auth.bootstrap import make_provider
from worker.auth.oauth import TokenGrant
from worker.auth.provider import TokenProvider, from_grant
from worker.auth.record import PIT, Credentials

BASE = "https://ghl.test"
TOKEN_URL = f"{BASE}/oauth/token"
LOC = "locAUTH0000000000001"
CLIENT_ID, CLIENT_SECRET = "client-abc", "client-SECRET-0123456789"
KEY = Fernet.generate_key().decode()
SCOPES = ("contacts.readonly", "contacts.write")


def make_settings(**overrides: Any) -> Settings:
    """OAuth-ready settings: location, key, client id and secret, base URL, prefix ``t``."""
    values: dict[str, Any] = {
        "ghl_location_id": LOC, "token_encryption_key": KEY, "key_prefix": "t",
        "ghl_api_base": BASE, "ghl_client_id": CLIENT_ID, "ghl_client_secret": CLIENT_SECRET,
        "ghl_scopes": frozenset(SCOPES), "ghl_scopes_set": True,
    }
    values.update(overrides)
    return Settings(**values)


def new_redis() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis(server=fakeredis.FakeServer())


def provider(settings: Settings, client: Any, **kw: Any) -> TokenProvider:
    """A provider like a worker's (one per simulated process); ``kw`` overrides attributes."""
    made = make_provider(settings, client)
    for name, value in kw.items():
        setattr(made, name, value)
    return made


def store_oauth(prov: TokenProvider, *, access: str, refresh: str, expires_in_s: float,
                after_401: bool = False) -> Credentials:
    grant = TokenGrant(access_token=access, refresh_token=refresh, expires_in_s=expires_in_s,
                       scopes=SCOPES, location_id=LOC)
    return prov.store.save(from_grant(grant, now_s=time.time(), source="login",
                                      location_id=LOC, after_401=after_401))


def store_pit(prov: TokenProvider, token: str) -> Credentials:
    return prov.store.save(Credentials(kind=PIT, access_token=token, location_id=LOC))


def token_answer(access: str, refresh: str, expires_in: float = 86399,
                 scope: str = " ".join(SCOPES)) -> dict:
    """A 200 answer of /oauth/token in the official response shape."""
    return {"access_token": access, "token_type": "Bearer", "expires_in": expires_in,
            "refresh_token": refresh, "scope": scope, "userType": "Location",
            "locationId": LOC, "companyId": "co1", "userId": "u1"}


def form_of(request: Any) -> dict[str, str]:
    """The form-encoded body of a recorded request, one value per field."""
    body = request.body if isinstance(request.body, str) else request.body.decode()
    return {k: v[0] for k, v in parse_qs(body).items()}


def raw_values(client: Any) -> bytes:
    """Every key and value in Redis, concatenated (strings and hashes)."""
    out = b""
    for key in client.keys("*"):
        kind = client.type(key)
        out += key
        if kind == b"string":
            out += client.get(key)
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                out += field + value
    return out


