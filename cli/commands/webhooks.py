"""``toky-ghl webhooks register URL [--event E ...] | list | delete ID``: Toky's hook registrations.

``register`` appends ``/webhooks/toky/{event}?token=WEBHOOK_SECRET`` to URL for
each event; the token is never printed (shown as ``***``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

MASK = "***"


def hook_url(base_url: str, event: str, secret: str) -> str:
    """``base_url`` + ``/webhooks/toky/{event}?token={secret}`` (the secret URL-encoded)."""
    path = f"{base_url.rstrip('/')}/webhooks/toky/{quote(event, safe='')}"
    return f"{path}?{urlencode({'token': secret})}"


def mask_url(url: str) -> str:
    """``url`` with the value of its ``token`` query parameter replaced by ``***``."""
    parts = urlsplit(str(url))
    if not parts.query:
        return str(url)
    pairs = [(k, MASK if k == "token" else v)
             for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    query = "&".join(f"{k}={v}" if k == "token" else urlencode([(k, v)]) for k, v in pairs)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


#: The events the receiver handles (``producers.webhook.mapping.HANDLED_EVENTS``; kept here
#: too so that ``--help`` does not import Flask; a test checks they agree).
HANDLED_EVENTS = ("inbound_call_ended", "outbound_call_ended", "new_voicemail", "new_sms")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "webhooks", help="register, list or delete the Toky webhooks pointing at the receiver",
        description="Manage Toky's webhook registrations (needs TOKY_API_KEY; register "
                    "needs WEBHOOK_SECRET). Tokens are never printed.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    reg = actions.add_parser(
        "register", help="register URL for each event",
        description="Register URL/webhooks/toky/{event}?token=WEBHOOK_SECRET with Toky for each "
                    "event. An identical registration already present is kept, not repeated.")
    reg.add_argument("url", metavar="URL",
                     help="public base URL of the receiver, e.g. https://hooks.example.com")
    reg.add_argument("--event", action="append", choices=HANDLED_EVENTS, metavar="E",
                     help=f"an event to register (repeatable; default: all of "
                          f"{', '.join(HANDLED_EVENTS)})")
    reg.set_defaults(func=run_register)
    lst = actions.add_parser("list", help="list the registered webhooks (tokens masked)")
    lst.add_argument("--json", action="store_true", help="one JSON array instead of lines")
    lst.set_defaults(func=run_list)
    delete = actions.add_parser("delete", help="delete one registration by its id")
    delete.add_argument("id", metavar="ID")
    delete.set_defaults(func=run_delete)


def _client() -> Any:
    from clients.toky import TokyClient
    from toky_ghl.logs import register_secrets
    from toky_ghl.settings import get_settings

    settings = get_settings()
    register_secrets([settings.webhook_secret])
    return TokyClient.from_settings(settings)


def run_register(args: argparse.Namespace) -> int:
    from clients.toky import TokyError, paths
    from producers.webhook.token import check_secret
    from toky_ghl.settings import get_settings

    settings = get_settings()
    settings.require("WEBHOOK_SECRET")
    secret = settings.webhook_secret
    refused = check_secret(secret)
    if refused or secret is None:  # the receiver would not start with it: register nothing
        print(f"toky-ghl webhooks: {refused}", file=sys.stderr)
        return 2
    if urlsplit(args.url).scheme not in ("http", "https") or urlsplit(args.url).query:
        print(f"toky-ghl webhooks: URL must be an http(s) URL without a query, got "
              f"{mask_url(args.url)!r}", file=sys.stderr)
        return 2
    with _client() as client:
        try:
            existing = {(h.get(paths.WEBHOOK_EVENT_KEY), h.get(paths.WEBHOOK_URL_KEY)):
                        h.get(paths.WEBHOOK_ID_KEY) for h in client.webhooks()}
            for event in args.event or HANDLED_EVENTS:
                url = hook_url(args.url, event, secret)
                if (event, url) in existing:
                    print(f"{event}: already registered (id {existing[event, url]}) "
                          f"→ {mask_url(url)}")
                    continue
                answer = client.register_webhook(event, url)
                print(f"{event}: registered (id {answer.get(paths.WEBHOOK_ID_KEY)}) "
                      f"→ {mask_url(url)}")
        except TokyError as exc:
            print(f"toky-ghl webhooks register: {exc}", file=sys.stderr)
            return 1
    return 0


def run_list(args: argparse.Namespace) -> int:
    from clients.toky import TokyError, paths

    with _client() as client:
        try:
            hooks = client.webhooks()
        except TokyError as exc:
            print(f"toky-ghl webhooks list: {exc}", file=sys.stderr)
            return 1
    shown = [{**h, paths.WEBHOOK_URL_KEY: mask_url(h.get(paths.WEBHOOK_URL_KEY, ""))}
             for h in hooks]
    if args.json:
        print(json.dumps(shown, indent=2))
        return 0
    for hook in shown:
        print(f"{hook.get(paths.WEBHOOK_ID_KEY)}\t{hook.get(paths.WEBHOOK_EVENT_KEY)}\t"
              f"{hook.get(paths.WEBHOOK_URL_KEY)}")
    if not shown:
        print("no webhooks registered", file=sys.stderr)
    return 0


def run_delete(args: argparse.Namespace) -> int:
    from clients.toky import TokyError, TokyNotFoundError

    with _client() as client:
        try:
            client.delete_webhook(args.id)
        except TokyNotFoundError:
            print(f"toky-ghl webhooks delete: no webhook with id {args.id}", file=sys.stderr)
            return 1
        except TokyError as exc:
            print(f"toky-ghl webhooks delete: {exc}", file=sys.stderr)
            return 1
    print(f"deleted webhook {args.id}")
    return 0
