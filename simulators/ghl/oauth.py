"""GHL's OAuth 2.0 in the simulator: apps, consent codes, token pairs that expire.

Follows the official ``apps/oauth.json`` and ``docs/oauth/Authorization.md``:
``/oauth/token`` takes a form (``client_id``, ``client_secret``, ``grant_type``,
``code`` or ``refresh_token``, ``user_type``), answers a NEW pair whose access
token lives ``access_token_ttl_s`` seconds; a refresh token works ONCE.
ASSUMPTIONS (not in the docs): wrong client credentials answer 401
``{"statusCode", "message", "error": "Unauthorized"}``; a used or unknown code or
refresh token answers 400 ``{"statusCode", "message"}``; missing fields 422 with
a list; the previous access token stays valid until its own expiry.
Plain data and logic, no locking: ``GhlSim`` holds its lock around every call.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from simulators.ghl.errors import ApiError, bad_request, unprocessable

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")


@dataclass(frozen=True)
class OAuthApp:
    """A marketplace app installed on ``location_id`` with ``scopes``."""

    client_id: str
    client_secret: str
    location_id: str
    scopes: frozenset[str]


@dataclass
class _Refresh:
    client_id: str
    scopes: frozenset[str]
    access_token: str  # the access token issued with this refresh token
    used: bool = False


def invalid_client() -> ApiError:
    return ApiError(401, {"statusCode": 401, "message": "Invalid client credentials",
                          "error": "Unauthorized"})


class OAuthRegistry:
    """Apps, codes, refresh tokens and access-token expiries; ``add_token(token, location,
    scopes)`` makes an access token usable on the API."""

    def __init__(self, add_token: Callable[[str, str, Iterable[str]], None]) -> None:
        self._add_token = add_token
        self.apps: dict[str, OAuthApp] = {}
        self.codes: dict[str, tuple[str, frozenset[str]]] = {}
        self.refresh_tokens: dict[str, _Refresh] = {}
        self.expiry_s: dict[str, float] = {}
        self.reset_stats()

    def reset_stats(self) -> None:
        self.grants: Counter[str] = Counter()  # "authorization_code", "refresh_token", "refused"
        self.refused: Counter[str] = Counter()  # why
        self.refreshes: list[dict[str, Any]] = []  # {"at_s", "remaining_s"} per refresh grant

    def clear(self) -> None:
        self.apps.clear()
        self.codes.clear()
        self.refresh_tokens.clear()
        self.expiry_s.clear()
        self.reset_stats()

    def register_app(self, client_id: str, client_secret: str, location_id: str,
                     scopes: Iterable[str]) -> OAuthApp:
        if not (client_id and client_secret and location_id):
            raise ValueError("client_id, client_secret and location_id must not be empty")
        app = OAuthApp(client_id, client_secret, location_id, frozenset(scopes))
        self.apps[client_id] = app
        return app

    def issue_code(self, client_id: str, scopes: Iterable[str] | None = None) -> str:
        """A consent code of ``client_id``'s location (scopes: the app's, or a subset)."""
        app = self.apps.get(client_id)
        if app is None:
            raise ValueError(f"no OAuth app {client_id!r}")
        wanted = frozenset(scopes) if scopes else app.scopes
        if not wanted <= app.scopes:
            extra = " ".join(sorted(wanted - app.scopes))
            raise ValueError(f"scopes not granted to the app: {extra}")
        code = "sim-code-" + secrets.token_urlsafe(18)
        self.codes[code] = (client_id, wanted)
        return code

    def expired(self, token: str, now_s: float) -> bool:
        expires = self.expiry_s.get(token)
        return expires is not None and now_s >= expires

    def revoke(self, now_s: float, token: str | None = None) -> int:
        """Expire ``token`` now (any token, PIT too), or every OAuth access token; the count."""
        targets = [token] if token else [t for t, e in self.expiry_s.items() if e > now_s]
        for target in targets:
            self.expiry_s[target] = now_s
        return len(targets)

    def token(self, form: Mapping[str, str], now_s: float, ttl_s: float) -> dict[str, Any]:
        """The answer to ``POST /oauth/token`` with ``form``, or an ``ApiError``."""
        missing = [f"{name} should not be empty"
                   for name in ("client_id", "client_secret", "grant_type") if not form.get(name)]
        if missing:
            raise self._refuse("missing fields", unprocessable(missing))
        if form["grant_type"] not in GRANT_TYPES:
            raise self._refuse("bad grant_type", unprocessable(
                [f"grant_type must be one of the following values: {', '.join(GRANT_TYPES)}"]))
        if form.get("user_type", "Location") != "Location":
            raise self._refuse("user_type", bad_request("The simulator issues Location tokens "
                                                        "only (user_type=Location)"))
        app = self.apps.get(form["client_id"])
        if app is None or not secrets.compare_digest(app.client_secret, form["client_secret"]):
            raise self._refuse("invalid client", invalid_client())
        if form["grant_type"] == "authorization_code":
            scopes = self._take_code(app, form.get("code", ""))
        elif form["grant_type"] == "refresh_token":
            scopes = self._take_refresh(app, form.get("refresh_token", ""), now_s)
        else:
            raise self._refuse("client_credentials", bad_request(
                "client_credentials is not supported for Location tokens"))
        self.grants[form["grant_type"]] += 1
        return self._issue(app, scopes, now_s, ttl_s)

    def _take_code(self, app: OAuthApp, code: str) -> frozenset[str]:
        entry = self.codes.pop(code, None)
        if entry is None or entry[0] != app.client_id:
            raise self._refuse("invalid code",
                               bad_request("Invalid grant: the authorization code is invalid or "
                                           "was already used"))
        return entry[1]

    def _take_refresh(self, app: OAuthApp, refresh_token: str, now_s: float) -> frozenset[str]:
        entry = self.refresh_tokens.get(refresh_token)
        if entry is None or entry.used or entry.client_id != app.client_id:
            raise self._refuse("invalid refresh token",
                               bad_request("Invalid grant: the refresh token is invalid or was "
                                           "already used"))
        entry.used = True
        remaining = self.expiry_s.get(entry.access_token, now_s) - now_s
        self.refreshes.append({"at_s": now_s, "remaining_s": round(remaining, 3)})
        return entry.scopes

    def _issue(self, app: OAuthApp, scopes: frozenset[str], now_s: float,
               ttl_s: float) -> dict[str, Any]:
        access = "sim-at-" + secrets.token_urlsafe(24)
        refresh = "sim-rt-" + secrets.token_urlsafe(24)
        self._add_token(access, app.location_id, scopes)
        self.expiry_s[access] = now_s + ttl_s
        self.refresh_tokens[refresh] = _Refresh(app.client_id, scopes, access)
        return {"access_token": access, "token_type": "Bearer", "expires_in": ttl_s,
                "refresh_token": refresh, "scope": " ".join(sorted(scopes)),
                "userType": "Location", "locationId": app.location_id,
                "companyId": "sim-company", "userId": "sim-installer"}

    def _refuse(self, why: str, error: ApiError) -> ApiError:
        self.grants["refused"] += 1
        self.refused[why] += 1
        return error

    def issued_secrets(self) -> list[str]:
        """Every access and refresh token issued so far, and the apps' secrets (for tests)."""
        apps = [a.client_secret for a in self.apps.values()]
        return [*self.expiry_s, *self.refresh_tokens, *apps]

    def snapshot(self) -> dict[str, Any]:
        return {"grants": dict(self.grants), "refused": dict(self.refused),
                "refreshes": list(self.refreshes), "apps": sorted(self.apps)}
