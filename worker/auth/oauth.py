"""GHL's OAuth 2.0 endpoints: the authorize URL and ``POST /oauth/token``.

From the official spec (``apps/oauth.json``, ``docs/oauth/Authorization.md``):
the token request is form-encoded (``client_id``, ``client_secret``,
``grant_type`` = ``authorization_code`` | ``refresh_token``, ``code`` or
``refresh_token``, ``user_type`` = ``Location``, ``redirect_uri``); the answer
carries ``access_token``, ``expires_in`` (seconds), a NEW ``refresh_token``,
``scope`` (space-separated), ``userType`` and ``locationId``. Errors use GHL's
shapes (400/401 ``{"statusCode", "message"}``, 422 with a list of messages).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import requests

from clients.http_policy import retry_after_ms
from toky_ghl.logs import register_secrets, scrub
from worker.auth.errors import AuthUnavailable, CredentialsRefused

if TYPE_CHECKING:
    from toky_ghl.settings import Settings

TOKEN_PATH = "/oauth/token"
USER_TYPE = "Location"


def authorize_url(base: str, *, client_id: str, redirect_uri: str, scopes: list[str]) -> str:
    """The marketplace's "choose location" page URL the sub-account admin opens to consent."""
    query = urlencode({"response_type": "code", "redirect_uri": redirect_uri,
                       "client_id": client_id, "scope": " ".join(scopes)}, quote_via=quote)
    return f"{base}?{query}"


@dataclass(frozen=True)
class TokenGrant:
    """An answer of ``/oauth/token``; ``expires_in_s`` in seconds; secrets out of ``repr``."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in_s: float
    scopes: tuple[str, ...]
    location_id: str | None


class OAuthClient:
    """Exchanges codes and refresh tokens for token pairs. ``timeout_s``: (connect, read)."""

    def __init__(self, *, base_url: str, client_id: str | None, client_secret: str | None,
                 session: requests.Session | None = None,
                 timeout_s: tuple[float, float] = (5.0, 30.0)) -> None:
        register_secrets([client_secret])
        self.url = base_url.rstrip("/") + TOKEN_PATH
        self.client_id = client_id
        self._secret = client_secret
        self._session = session or requests.Session()
        self._timeout_s = timeout_s

    def __repr__(self) -> str:
        return f"OAuthClient(url={self.url!r}, client_id={self.client_id!r})"

    @classmethod
    def from_settings(cls, settings: Settings) -> OAuthClient:
        return cls(base_url=settings.ghl_api_base, client_id=settings.ghl_client_id,
                   client_secret=settings.ghl_client_secret,
                   timeout_s=(settings.ghl_connect_timeout_s, settings.ghl_read_timeout_s))

    def exchange_code(self, code: str, *, redirect_uri: str | None = None) -> TokenGrant:
        """``grant_type=authorization_code``: the first pair, from the consent's ``code``."""
        form = {"grant_type": "authorization_code", "code": code, "user_type": USER_TYPE}
        if redirect_uri:
            form["redirect_uri"] = redirect_uri
        return self._post(form, "authorization code")

    def refresh(self, refresh_token: str) -> TokenGrant:
        """``grant_type=refresh_token``: a new pair; ``refresh_token`` stops working."""
        register_secrets([refresh_token])
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token,
                "user_type": USER_TYPE}
        return self._post(form, "refresh")

    def _post(self, form: dict[str, str], grant: str) -> TokenGrant:
        body = {"client_id": self.client_id, "client_secret": self._secret, **form}
        try:
            answer = self._session.post(self.url, data=body, timeout=self._timeout_s,
                                        headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            raise AuthUnavailable(f"POST {TOKEN_PATH} ({grant}) failed: "
                                  f"{type(exc).__name__}") from None
        payload = _json(answer)
        if answer.status_code == 429 or answer.status_code >= 500:
            raise AuthUnavailable(
                f"GHL answered {answer.status_code} to the {grant} grant: {_message(payload)}",
                retry_after_ms=retry_after_ms(answer.headers))
        if not 200 <= answer.status_code < 300:
            raise CredentialsRefused(
                f"GHL refused the {grant} grant on POST {TOKEN_PATH} (HTTP {answer.status_code}: "
                f"{_message(payload)})", status=answer.status_code)
        return _grant(payload, grant)


def _json(answer: requests.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None


def _message(payload: Any) -> str:
    if not isinstance(payload, dict):
        return "no message"
    message = payload.get("message") or payload.get("error_description") or payload.get("error")
    if isinstance(message, list):
        message = "; ".join(str(m) for m in message)
    return scrub(str(message or "no message"))


def _grant(payload: Any, grant: str) -> TokenGrant:
    ok = isinstance(payload, dict) and all(
        isinstance(payload.get(k), str) and payload[k] for k in ("access_token", "refresh_token"))
    if not ok:
        raise AuthUnavailable(f"unexpected answer to the {grant} grant: no token pair in it")
    register_secrets([payload["access_token"], payload["refresh_token"]])
    try:
        expires_in_s = float(payload.get("expires_in") or 0)
    except (TypeError, ValueError):
        expires_in_s = 0.0
    scope = payload.get("scope")
    return TokenGrant(
        access_token=payload["access_token"], refresh_token=payload["refresh_token"],
        expires_in_s=expires_in_s,
        scopes=tuple(scope.replace(",", " ").split()) if isinstance(scope, str) else (),
        location_id=payload.get("locationId") if isinstance(payload.get("locationId"), str)
        else None,
    )
